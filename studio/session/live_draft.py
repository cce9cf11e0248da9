"""Live SPADE draft while painting: every label edit re-renders on the worker, newest only."""

from __future__ import annotations

import logging
import time

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
DEBOUNCE_MS = 60  # while the brush moves, at most ~16 submissions a second (stale ones dropped)


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


class LiveDraft(QObject, JobOwner):
    """Watches the active label layer; renders it with the chosen SPADE model, newest wins."""

    draft_shown = Signal(float)  # seconds from the edit to the draft on screen
    error_raised = Signal(str, str)

    def __init__(self, document: Document, jobs: JobQueue, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.jobs = jobs
        self.model_path = ""
        self.enabled = False
        self.seed = 0
        self._below: int | None = None  # the label layer the draft sits under
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.render_now)
        # Bound methods, not lambdas: Qt drops them when this object is destroyed.
        document.undo_stack.indexChanged.connect(self._on_edit)
        document.pixels_changed.connect(self._on_edit)
        document.active_layer_changed.connect(self._on_edit)

    def set_model(self, path: str) -> None:
        self.model_path = path
        self._schedule()

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self._schedule()

    def _on_edit(self, *_args) -> None:
        self._schedule()

    def _label_layer(self):
        layer = self.document.active_layer
        return layer if layer is not None and layer.kind == LABEL else None

    def _schedule(self) -> None:
        ready = self.enabled and self.model_path and self._label_layer() is not None
        if ready and not self._timer.isActive():  # throttle: at most one submit per interval
            self._timer.start(DEBOUNCE_MS)

    def render_now(self) -> int | None:
        """Submit the current label map (dropping any waiting draft); the job id or None."""
        layer = self._label_layer()
        if not (self.enabled and self.model_path) or layer is None:
            return None
        family = family_named(DRAFT_FAMILY)  # its "paint" mode, as `studio generate --labels`
        canvas = (self.document.width, self.document.height)
        inputs = Inputs(canvas, labels=layer.pixels, palette=layer.palette.to_dict())
        params = GenerateParams(seed=self.seed)
        request = family.build_request("paint", self.model_path, params, inputs).request
        edited = time.monotonic()  # the time of the edit it renders
        job_id = self.jobs.submit(
            request, "Live draft", self, kind="live-draft", channel=CHANNEL, data=edited
        )
        self._below = layer.id
        return job_id

    def job_finished(self, job: QueuedJob, result) -> None:
        self.document.show_live_draft(rgba_from_rgb(result.image), below=self._below)
        self.draft_shown.emit(time.monotonic() - job.data)

    def job_failed(self, job: QueuedJob, message: str, details: str) -> None:
        self.enabled = False  # one clear message, not one per brush dab
        log.warning("live draft stopped: %s", message)
        self.error_raised.emit(f"Live draft stopped: {message}", details)
