"""One exploration batch (sampler comparison, seed walk, variations) queued as one, as a grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from studio.document.document import Document
from studio.document.layers import Layer, rgba_from_rgb
from studio.engine.requests import GenerationRequest
from studio.session.jobs import JobOwner, JobQueue, QueuedJob


@dataclass
class Cell:
    """One picture of the batch: what it is, its job, and its result when done."""

    label: str
    request: GenerationRequest
    job_id: int = 0
    state: str = "queued"  # queued | running | done | failed | cancelled
    image: np.ndarray | None = None  # HxWx3 uint8
    seconds: float = 0.0
    result: Any = None


class ExploreBatch(QObject, JobOwner):
    """Submits every cell to the one worker queue in order and collects the results."""

    batch_started = Signal(str, int, int)  # kind, rows, columns
    cell_changed = Signal(int)  # cell index
    batch_done = Signal()
    error_raised = Signal(str, str)
    layer_added = Signal(int)

    def __init__(self, document: Document, jobs: JobQueue, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.jobs = jobs
        self.kind = ""
        self.columns = 1
        self.cells: list[Cell] = []

    def start(self, kind: str, cells: list[Cell], columns: int) -> None:
        """Stop the previous batch's waiting jobs, then queue all of these."""
        self.stop()
        self.kind, self.cells, self.columns = kind, cells, max(1, columns)
        rows = -(-len(cells) // self.columns)
        self.batch_started.emit(kind, rows, self.columns)
        for cell in cells:  # each job carries its cell: an older batch's late news finds none
            label = f"{kind}: {cell.label}"
            cell.job_id = self.jobs.submit(cell.request, label, self, kind="explore", data=cell)

    def stop(self) -> None:
        """Remove the waiting cells and cancel the running one."""
        for cell in self.cells:
            if cell.state == "queued":
                self.jobs.remove(cell.job_id)  # its cell is marked cancelled by job_removed
            elif cell.state == "running":
                self.jobs.cancel(cell.job_id)

    def busy(self) -> bool:
        return any(c.state in ("queued", "running") for c in self.cells)

    def _set(self, job: QueuedJob, **changes: Any) -> None:
        cell = job.data
        index = next((i for i, c in enumerate(self.cells) if c is cell), None)
        if index is None:
            return  # a cell of a batch that was replaced since
        for name, value in changes.items():
            setattr(cell, name, value)
        self.cell_changed.emit(index)
        if changes.get("state") in ("done", "failed", "cancelled") and not self.busy():
            self.batch_done.emit()

    def job_started(self, job: QueuedJob) -> None:
        self._set(job, state="running")

    def job_finished(self, job: QueuedJob, result: Any) -> None:
        image = np.asarray(result.image)
        self._set(job, image=image, seconds=result.seconds, result=result, state="done")

    def job_cancelled(self, job: QueuedJob, draft: Any) -> None:
        self._set(job, state="cancelled")

    def job_removed(self, job: QueuedJob) -> None:
        self._set(job, state="cancelled")

    def job_failed(self, job: QueuedJob, message: str, details: str) -> None:
        if any(c is job.data for c in self.cells):
            self.error_raised.emit(message, details)
        self._set(job, state="failed")

    def open_cell(self, index: int) -> int | None:
        """Add a finished cell's picture as a new layer (one undo step)."""
        cell = self.cells[index] if 0 <= index < len(self.cells) else None
        if cell is None or cell.result is None:
            return None
        name = f"{self.kind}: {cell.label}"
        metadata = dict(cell.result.recipe)
        layer = Layer(name, rgba_from_rgb(cell.image), metadata=metadata)
        self.document.add_result_layer(layer, f"Open {name}")
        self.layer_added.emit(layer.id)
        return layer.id

    def images(self) -> list[np.ndarray]:
        """The finished pictures in cell order (for a walk's animation)."""
        return [c.image for c in self.cells if c.image is not None]
