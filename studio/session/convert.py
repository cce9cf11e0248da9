"""One-click conversion of a pickled checkpoint to .safetensors, as a job on the worker."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.engine.models.checkpoints import PICKLE_SUFFIXES, ConvertRequest
from studio.session.jobs import JobOwner, JobQueue, QueuedJob


def can_convert(path: str) -> bool:
    return Path(path).is_file() and Path(path).suffix.lower() in (*PICKLE_SUFFIXES, ".pkl")


class Converter(QObject, JobOwner):
    """Queues conversions (weights-only load, nothing in the file runs) and reports the result."""

    converted = Signal(str, str)  # original path, new .safetensors path
    error_raised = Signal(str, str)

    def __init__(self, jobs: JobQueue, parent=None) -> None:
        super().__init__(parent)
        self.jobs = jobs

    def convert(self, path: str) -> int | None:
        if not can_convert(path):
            self.error_raised.emit(f"{Path(path).name} is not a pickled checkpoint file.", path)
            return None
        label = f"Convert {Path(path).name}"
        return self.jobs.submit(ConvertRequest(path), label, self, kind="convert", data=path)

    def job_finished(self, job: QueuedJob, result) -> None:
        self.converted.emit(job.data, str(result))

    def job_failed(self, job: QueuedJob, message: str, details: str) -> None:
        self.error_raised.emit(message, details)
