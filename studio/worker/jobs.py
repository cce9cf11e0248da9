"""Job records and their states: queued -> running -> finished | cancelled | failed."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (JobState.FINISHED, JobState.CANCELLED, JobState.FAILED)


@dataclass(frozen=True)
class Job:
    """A snapshot of one job; the worker replaces it as the state changes."""

    id: int
    request: Any
    label: str
    state: JobState = JobState.QUEUED
    channel: str = ""  # jobs of a named channel replace each other while waiting (live drafts)

    def with_state(self, state: JobState) -> Job:
        return replace(self, state=state)
