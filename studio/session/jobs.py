"""The one job queue: submits to the worker, keeps each job's kind, owner and true state."""

from __future__ import annotations

import logging
import sys
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.worker.jobs import JobState
from studio.worker.worker import GenerationWorker

log = logging.getLogger(__name__)
KEEP_ENDED = 64  # ended jobs `job(id)` still knows (state, kind, owner; no request or data)
KINDS = ("generate", "live-draft", "translate", "convert", "decode", "explore")


class JobOwner:
    """Whoever submits a job is called back about it; override only what you need."""

    def job_started(self, job: QueuedJob) -> None:
        """The worker began running `job`."""

    def job_previewed(self, job: QueuedJob, preview: Any) -> None:
        """A step preview of `job` (throttled by the worker: newest wins, ~20 a second)."""

    def job_finished(self, job: QueuedJob, result: Any) -> None:
        """`job` ended with its result."""

    def job_cancelled(self, job: QueuedJob, draft: Any) -> None:
        """`job` was stopped while running; `draft` is what it had made so far, or None."""

    def job_failed(self, job: QueuedJob, message: str, details: str) -> None:
        """`job` failed; `message` is for the artist, `details` on demand."""

    def job_removed(self, job: QueuedJob) -> None:
        """`job` left the queue before it ran (removed, or replaced in its channel)."""


@dataclass(frozen=True)
class QueuedJob:
    """What the queue knows of one job; replaced (not changed) as its state moves on."""

    id: int
    kind: str  # "generate", "live-draft", "translate", "convert", "decode", "explore"…
    label: str
    request: Any
    owner: JobOwner | None
    channel: str = ""  # a channel's waiting job is replaced by the next one (live drafts)
    state: JobState = JobState.QUEUED
    data: Any = None  # what the owner attached at submit (e.g. where the result lands)
    pictures: int = 0  # step previews with a picture delivered so far


class JobQueue(QObject):
    """The only listener to the worker's job signals; calls each job's owner back."""

    job_changed = Signal(object)  # QueuedJob: queued, running or ended (its new state)
    job_previewed = Signal(object, object)  # QueuedJob, StepPreview: every job's progress
    job_ended = Signal(object, object)  # QueuedJob, result / draft / None: after its owner
    jobs_changed = Signal()  # the list of waiting and running jobs changed

    def __init__(self, worker: GenerationWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self._live: dict[int, QueuedJob] = {}  # queued and running, in submission order
        self._ended: OrderedDict[int, QueuedJob] = OrderedDict()
        worker.job_started.connect(self._on_started)
        worker.step_previewed.connect(self._on_previewed)
        worker.job_finished.connect(self._on_finished)
        worker.job_cancelled.connect(self._on_cancelled)
        worker.job_failed.connect(self._on_failed)
        worker.job_removed.connect(self._on_removed)

    # ---- API (GUI thread) -----------------------------------------------------------------
    def submit(
        self,
        request: Any,
        label: str,
        owner: JobOwner | None,
        kind: str = "generate",
        channel: str = "",
        data: Any = None,
    ) -> int:
        """Queue `request` on the worker for `owner`; returns the job id."""
        if kind not in KINDS:
            raise ValueError(f"Unknown job kind {kind!r}; known: {', '.join(KINDS)}")
        job_id = self.worker.submit(request, label, channel=channel)
        job = self._live[job_id] = QueuedJob(
            job_id, kind, label, request, owner, channel, data=data
        )
        self._changed(job)
        return job_id

    def job(self, job_id: int) -> QueuedJob | None:
        """A waiting, running or recently ended job; None if unknown or long forgotten."""
        return self._live.get(job_id) or self._ended.get(job_id)

    def jobs(self, owner: JobOwner | None = None, kind: str = "") -> list[QueuedJob]:
        """The running job then the waiting ones (optionally only `owner`'s or `kind`'s)."""
        found = sorted(self._live.values(), key=lambda j: (j.state is not JobState.RUNNING, j.id))
        return [
            j for j in found if (owner is None or j.owner is owner) and (not kind or j.kind == kind)
        ]

    def busy(self, owner: JobOwner | None = None) -> bool:
        """True while any job (of `owner`) waits or runs."""
        return bool(self.jobs(owner))

    def cancel(self, job_id: int | None = None) -> bool:
        """Stop the running job (or the given one: a waiting job is removed)."""
        return self.worker.cancel(job_id)

    def remove(self, job_id: int) -> bool:
        """Take a waiting job out of the queue; False if it is not waiting."""
        return self.worker.remove(job_id)

    # ---- worker events --------------------------------------------------------------------
    def _move(self, job_id: int, state: JobState) -> QueuedJob | None:
        """The job in its new state; an ended one is kept without its request and data."""
        job = self._live.get(job_id)
        if job is None:
            log.warning("job %d was not submitted through the job queue; ignored", job_id)
            return None
        job = replace(job, state=state)
        if state.done:
            del self._live[job_id]
            self._ended[job_id] = replace(job, request=None, data=None)  # free their arrays
            while len(self._ended) > KEEP_ENDED:
                self._ended.popitem(last=False)
        else:
            self._live[job_id] = job
        return job

    def _changed(self, job: QueuedJob) -> None:
        self.job_changed.emit(job)
        self.jobs_changed.emit()

    def _call(self, job: QueuedJob, method: str, *args: Any) -> None:
        """Call the owner back; its error is reported and never stops the queue or others."""
        if job.owner is None:
            return
        try:
            getattr(job.owner, method)(job, *args)
        except Exception:  # an owner's bug must not lose other jobs' callbacks
            log.exception("the owner of job %d failed in %s", job.id, method)
            sys.excepthook(*sys.exc_info())

    def _on_started(self, job_id: int) -> None:
        job = self._move(job_id, JobState.RUNNING)
        if job is not None:
            self._call(job, "job_started")
            self._changed(job)

    def _on_previewed(self, job_id: int, preview: Any) -> None:
        job = self._live.get(job_id)
        if job is None:
            return
        if getattr(preview, "image", None) is not None:
            job = self._live[job_id] = replace(job, pictures=job.pictures + 1)
        self.job_previewed.emit(job, preview)  # the status bar first, then the owner's canvas
        self._call(job, "job_previewed", preview)

    def _end(self, job_id: int, state: JobState, method: str, *args: Any) -> None:
        job = self._move(job_id, state)
        if job is None:
            return
        self._call(job, method, *args)  # the owner first: observers see it landed
        self._changed(job)
        outcome = args[0] if method in ("job_finished", "job_cancelled") else None
        self.job_ended.emit(job, outcome)

    def _on_finished(self, job_id: int, result: Any) -> None:
        self._end(job_id, JobState.FINISHED, "job_finished", result)

    def _on_cancelled(self, job_id: int, draft: Any) -> None:
        self._end(job_id, JobState.CANCELLED, "job_cancelled", draft)

    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        self._end(job_id, JobState.FAILED, "job_failed", message, details)

    def _on_removed(self, job_id: int) -> None:
        self._end(job_id, JobState.CANCELLED, "job_removed")
