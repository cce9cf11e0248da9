"""Translate mode: a pix2pix/CycleGAN generator applied to the active layer or the selection."""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QObject, Signal

from studio.document.document import Document
from studio.document.layers import RASTER, Layer
from studio.engine.gan.requests import TranslateRequest
from studio.engine.models.registry import ModelInfo, scan
from studio.io.paths import model_search_dirs
from studio.worker.worker import GenerationWorker

log = logging.getLogger(__name__)
TRANSLATORS = ("pix2pix-resnet", "pix2pix-unet")


def translate_models(dirs=None) -> list[ModelInfo]:
    """Usable pix2pix / CycleGAN generators in the model folders."""
    found = scan(dirs if dirs is not None else model_search_dirs(), kinds=("gan",))
    return [m for m in found if m.family in TRANSLATORS and m.usable]


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


class Translator(QObject):
    """Queues translate jobs and lands each result as a new layer (one undo step)."""

    error_raised = Signal(str, str)
    result_added = Signal(int)  # layer id

    def __init__(self, document: Document, worker: GenerationWorker, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.worker = worker
        self._jobs: dict[int, tuple[str, tuple[int, int, int, int], np.ndarray | None]] = {}
        worker.job_finished.connect(self._on_finished)
        worker.job_failed.connect(self._on_failed)
        worker.job_cancelled.connect(self._on_cancelled)

    def translate(self, model_path: str, direction: str = "AtoB", seed: int = 0) -> int | None:
        """Translate the active raster layer (only the selection, if there is one)."""
        layer = self.document.active_layer
        if not model_path:
            self.error_raised.emit("Choose a pix2pix or CycleGAN model first.", "")
            return None
        if layer is None or layer.kind != RASTER:
            self.error_raised.emit("Translate works on an image layer: select one first.", "")
            return None
        h, w = layer.height, layer.width
        selection = self.document.selection
        if selection is not None:
            selection = selection[:h, :w]
        box = _bbox(selection) if selection is not None and selection.any() else (0, 0, w, h)
        x0, y0, x1, y1 = box
        image = np.ascontiguousarray(layer.pixels[y0:y1, x0:x1, :3])
        request = TranslateRequest(model_path, image, direction=direction, seed=seed)
        job_id = self.worker.submit(request, f"Translate: {layer.name}")
        mask = None if selection is None else selection[y0:y1, x0:x1].copy()
        self._jobs[job_id] = (layer.name, box, mask)
        return job_id

    def _on_finished(self, job_id: int, result) -> None:
        job = self._jobs.pop(job_id, None)
        if job is None:
            return
        name, (x0, y0, x1, y1), mask = job
        pixels = np.zeros((self.document.height, self.document.width, 4), np.uint8)
        patch = np.asarray(result.image)[: y1 - y0, : x1 - x0]
        pixels[y0:y1, x0:x1, :3] = patch
        pixels[y0:y1, x0:x1, 3] = 255 if mask is None else np.where(mask, 255, 0)
        layer = Layer(f"Translated {name}", pixels, metadata=dict(result.recipe))
        self.document.add_layer(layer, f"Translate {name}")
        self.result_added.emit(layer.id)

    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        if self._jobs.pop(job_id, None) is not None:
            self.error_raised.emit(message, details)

    def _on_cancelled(self, job_id: int, _result) -> None:
        self._jobs.pop(job_id, None)
