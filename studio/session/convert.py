"""One-click conversion of a pickled checkpoint to .safetensors, as a job on the worker."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.engine.models.checkpoints import ConvertRequest
from studio.worker.worker import GenerationWorker

PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")


def can_convert(path: str) -> bool:
    return Path(path).is_file() and Path(path).suffix.lower() in PICKLE_SUFFIXES


class Converter(QObject):
    """Queues conversions (weights-only load, nothing in the file runs) and reports the result."""

    converted = Signal(str, str)  # original path, new .safetensors path
    error_raised = Signal(str, str)

    def __init__(self, worker: GenerationWorker, parent=None) -> None:
        super().__init__(parent)
        self.worker = worker
        self._jobs: dict[int, str] = {}
        worker.job_finished.connect(self._on_finished)
        worker.job_failed.connect(self._on_failed)
        worker.job_cancelled.connect(lambda job_id, _r: self._jobs.pop(job_id, None))

    def convert(self, path: str) -> int | None:
        if not can_convert(path):
            self.error_raised.emit(f"{Path(path).name} is not a pickled checkpoint file.", path)
            return None
        job_id = self.worker.submit(ConvertRequest(path), f"Convert {Path(path).name}")
        self._jobs[job_id] = path
        return job_id

    def _on_finished(self, job_id: int, result) -> None:
        path = self._jobs.pop(job_id, None)
        if path is not None:
            self.converted.emit(path, str(result))

    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        if self._jobs.pop(job_id, None) is not None:
            self.error_raised.emit(message, details)
