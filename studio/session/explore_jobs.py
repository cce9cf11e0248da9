"""One exploration batch (sampler comparison, seed walk, variations) queued as one, as a grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from studio.document.document import Document
from studio.document.layers import Layer, rgba_from_rgb
from studio.engine.requests import GenerationRequest
from studio.worker.worker import GenerationWorker


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


class ExploreBatch(QObject):
    """Submits every cell to the one worker queue in order and collects the results."""

    batch_started = Signal(str, int, int)  # kind, rows, columns
    cell_changed = Signal(int)  # cell index
    batch_done = Signal()
    error_raised = Signal(str, str)
    layer_added = Signal(int)

    def __init__(self, document: Document, worker: GenerationWorker, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.worker = worker
        self.kind = ""
        self.columns = 1
        self.cells: list[Cell] = []
        self._by_job: dict[int, int] = {}
        worker.job_started.connect(lambda job: self._set(job, state="running"))
        worker.job_finished.connect(self._on_finished)
        worker.job_cancelled.connect(lambda job, _r: self._set(job, state="cancelled"))
        worker.job_failed.connect(self._on_failed)

    def start(self, kind: str, cells: list[Cell], columns: int) -> None:
        """Stop the previous batch's waiting jobs, then queue all of these."""
        self.stop()
        self.kind, self.cells, self.columns = kind, cells, max(1, columns)
        self._by_job = {}
        rows = -(-len(cells) // self.columns)
        self.batch_started.emit(kind, rows, self.columns)
        for index, cell in enumerate(cells):
            cell.job_id = self.worker.submit(cell.request, f"{kind}: {cell.label}")
            self._by_job[cell.job_id] = index

    def stop(self) -> None:
        """Remove the waiting cells and cancel the running one."""
        for cell in self.cells:
            if cell.state == "queued" and self.worker.remove(cell.job_id):
                cell.state = "cancelled"
            elif cell.state == "running":
                self.worker.cancel(cell.job_id)

    def busy(self) -> bool:
        return any(c.state in ("queued", "running") for c in self.cells)

    def _set(self, job_id: int, **changes: Any) -> None:
        index = self._by_job.get(job_id)
        if index is None:
            return
        for name, value in changes.items():
            setattr(self.cells[index], name, value)
        self.cell_changed.emit(index)
        if changes.get("state") in ("done", "failed", "cancelled") and not self.busy():
            self.batch_done.emit()

    def _on_finished(self, job_id: int, result: Any) -> None:
        if job_id in self._by_job:
            image = np.asarray(result.image)
            self._set(job_id, image=image, seconds=result.seconds, result=result, state="done")

    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        if job_id in self._by_job:
            self.error_raised.emit(message, details)
            self._set(job_id, state="failed")

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
