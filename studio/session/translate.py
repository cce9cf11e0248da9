"""Translate mode: a pix2pix/CycleGAN generator applied to the active layer or the selection."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from studio.document.document import Document
from studio.document.layers import RASTER, Layer
from studio.engine.families import family_of_model
from studio.engine.inputs import GenerateParams, Inputs
from studio.engine.models.registry import ModelInfo, scan
from studio.errors import StudioError
from studio.io.paths import model_search_dirs
from studio.session.jobs import JobOwner, JobQueue, QueuedJob

log = logging.getLogger(__name__)
TRANSLATORS = ("pix2pix-resnet", "pix2pix-unet")


def translate_models(dirs=None) -> list[ModelInfo]:
    """Usable pix2pix / CycleGAN generators in the model folders."""
    found = scan(dirs if dirs is not None else model_search_dirs(), kinds=("gan",))
    return [m for m in found if m.family in TRANSLATORS and m.usable]


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


class Translator(QObject, JobOwner):
    """Queues translate jobs and lands each result as a new layer (one undo step)."""

    error_raised = Signal(str, str)
    result_added = Signal(int)  # layer id

    def __init__(self, document: Document, jobs: JobQueue, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.jobs = jobs

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
        family = family_of_model(model_path)  # the same request `studio translate` builds
        if family is None or "translate" not in family.modes:
            self.error_raised.emit(f"{Path(model_path).name} is not a translation model.", "")
            return None
        params = GenerateParams(seed=seed, direction=direction)
        inputs = Inputs((w, h), picture=image)
        try:
            request = family.build_request("translate", model_path, params, inputs).request
        except StudioError as exc:
            self.error_raised.emit(exc.message, exc.details)
            return None
        mask = None if selection is None else selection[y0:y1, x0:x1].copy()
        where = (layer.name, box, mask)  # where the result lands: the layer's name, box, mask
        return self.jobs.submit(
            request, f"Translate: {layer.name}", self, kind="translate", data=where
        )

    def job_finished(self, job: QueuedJob, result) -> None:
        name, (x0, y0, x1, y1), mask = job.data
        pixels = np.zeros((self.document.height, self.document.width, 4), np.uint8)
        patch = np.asarray(result.image)[: y1 - y0, : x1 - x0]
        pixels[y0:y1, x0:x1, :3] = patch
        pixels[y0:y1, x0:x1, 3] = 255 if mask is None else np.where(mask, 255, 0)
        layer = Layer(f"Translated {name}", pixels, metadata=dict(result.recipe))
        self.document.add_layer(layer, f"Translate {name}")
        self.result_added.emit(layer.id)

    def job_failed(self, job: QueuedJob, message: str, details: str) -> None:
        self.error_raised.emit(message, details)
