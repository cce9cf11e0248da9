"""Live SPADE draft while painting: label edits re-render on the worker, reduced mid-stroke."""

from __future__ import annotations

import logging
import time

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from studio.document.document import Document
from studio.document.layers import LABEL, rgba_from_rgb
from studio.engine.families import family_named
from studio.engine.inputs import GenerateParams, Inputs
from studio.engine.models.registry import ModelInfo, scan
from studio.io.paths import model_search_dirs
from studio.session.jobs import JobOwner, JobQueue, QueuedJob

log = logging.getLogger(__name__)
DRAFT_FAMILY = "gan"  # the live draft is a SPADE generator: the GAN family paints it
CHANNEL = "live-draft"
STROKE_SIDE = 256  # while the brush moves, drafts render at most about this many px a side


def spade_models(dirs=None) -> list[ModelInfo]:
    """Usable SPADE generators in the model folders."""
    found = scan(dirs if dirs is not None else model_search_dirs(), kinds=("gan",))
    return [m for m in found if m.family == "spade" and m.usable]


def preferred_spade(models: list[ModelInfo], chosen: str = "") -> str:
    """The SPADE the live draft uses: the artist's pick while it is installed, else a starter
    (its sidecar says "starter": true), else the first found; "" when there is none."""
    paths = [m.path for m in models]
    if chosen and chosen in paths:
        return chosen
    starter = next((m.path for m in models if m.starter), None)
    return starter or (paths[0] if paths else "")


def reduced(labels: np.ndarray, side: int) -> np.ndarray:
    """Every n-th label (nearest) so the longer side is at most about `side` pixels."""
    step = max(1, -(-max(labels.shape) // side))
    return np.ascontiguousarray(labels[::step, ::step]) if step > 1 else labels


def to_canvas(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """A (reduced) draft HxWx3 brought to the canvas size: whole-pixel repeats, then a crop."""
    h, w = rgb.shape[:2]
    if (w, h) == (width, height):
        return rgb
    fy, fx = -(-height // h), -(-width // w)
    big = np.repeat(np.repeat(rgb, fy, axis=0), fx, axis=1)[:height, :width]
    if big.shape[:2] != (height, width):  # the model rounded the size down: stretch the rest
        from PIL import Image

        big = np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize((width, height)))
    return big


class LiveDraft(QObject, JobOwner):
    """Watches the active label layer; renders it with the chosen SPADE model, newest wins.

    One draft is in flight at a time: an edit while the worker is free is rendered at once (no
    debounce); edits during a render are gathered into one render when it ends. While the
    brush moves, drafts render at a reduced size (STROKE_SIDE); when the stroke ends, at full
    size.
    """

    draft_shown = Signal(float)  # seconds from the oldest edit it shows to the draft on screen
    error_raised = Signal(str, str)

    def __init__(self, document: Document, jobs: JobQueue, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.jobs = jobs
        self.model_path = ""
        self.enabled = False
        self.seed = 0
        self.stroke_side = STROKE_SIDE
        self._below: int | None = None  # the label layer the draft sits under
        self._in_flight: int | None = None  # the draft job submitted and not ended yet
        self._pending = False  # edited since the draft in flight was submitted
        self._stroke = False  # the brush is down: render reduced
        self._edited: float | None = None  # the oldest edit no draft has rendered yet
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.render_now)
        # Bound methods, not lambdas: Qt drops them when this object is destroyed.
        document.undo_stack.indexChanged.connect(self._on_committed)
        document.pixels_changed.connect(self._on_painted)
        document.active_layer_changed.connect(self._on_committed)

    def set_model(self, path: str) -> None:
        self.model_path = path
        self._schedule()

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self._schedule()

    def _on_painted(self, *_args) -> None:
        """A tool changed pixels live: the stroke is still going."""
        self._stroke = True
        self._edit()

    def _on_committed(self, *_args) -> None:
        """An undo step (a stroke's end, a fill, undo/redo) or another layer: full size."""
        self._stroke = False
        self._edit()

    def _edit(self) -> None:
        if self._edited is None:
            self._edited = time.monotonic()
        self._schedule()

    def _label_layer(self):
        layer = self.document.active_layer
        return layer if layer is not None and layer.kind == LABEL else None

    def _schedule(self) -> None:
        ready = self.enabled and self.model_path and self._label_layer() is not None
        if not ready:
            return
        if self._in_flight is not None:
            self._pending = True  # rendered as soon as the draft in flight ends
        elif not self._timer.isActive():
            self._timer.start(0)  # the next turn of the event loop: one render per burst

    def render_now(self) -> int | None:
        """Submit the current label map (dropping any waiting draft); the job id or None."""
        layer = self._label_layer()
        if not (self.enabled and self.model_path) or layer is None:
            return None
        family = family_named(DRAFT_FAMILY)  # its "paint" mode, as `studio generate --labels`
        labels = reduced(layer.pixels, self.stroke_side) if self._stroke else layer.pixels
        canvas = (labels.shape[1], labels.shape[0])
        inputs = Inputs(canvas, labels=labels, palette=layer.palette.to_dict())
        params = GenerateParams(seed=self.seed)
        request = family.build_request("paint", self.model_path, params, inputs).request
        edited = self._edited if self._edited is not None else time.monotonic()
        job_id = self.jobs.submit(
            request, "Live draft", self, kind="live-draft", channel=CHANNEL, data=edited
        )
        self._in_flight, self._pending, self._edited = job_id, False, None
        self._below = layer.id
        return job_id

    def _ended(self, job: QueuedJob, again: bool = True) -> None:
        if job.id == self._in_flight:
            self._in_flight = None
            if again and self._pending:
                self._schedule()

    def job_finished(self, job: QueuedJob, result) -> None:
        doc = self.document
        rgb = to_canvas(np.asarray(result.image), doc.width, doc.height)
        doc.show_live_draft(rgba_from_rgb(rgb), below=self._below)
        self.draft_shown.emit(time.monotonic() - job.data)
        self._ended(job)

    def job_cancelled(self, job: QueuedJob, draft) -> None:
        self._ended(job)

    def job_removed(self, job: QueuedJob) -> None:
        self._ended(job)

    def job_failed(self, job: QueuedJob, message: str, details: str) -> None:
        self._ended(job, again=False)
        self.enabled = False  # one clear message, not one per brush dab
        log.warning("live draft stopped: %s", message)
        self.error_raised.emit(f"Live draft stopped: {message}", details)
