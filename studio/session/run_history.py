"""The recorded runs of this session: their steps, full decodes on request, steps as layers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from studio.document.document import Document
from studio.document.layers import Layer, rgba_from_rgb
from studio.engine.requests import DecodeRequest, DecodeResult, RunRecord
from studio.io.run_views import VIEWS, resized, view_image
from studio.worker.worker import GenerationWorker

log = logging.getLogger(__name__)
KEEP_RUNS = 8  # older records are forgotten
LIVE_INTERVAL_MS = 100  # a running run's record reaches the Timeline at most ~10 times a second
DEFAULT_CAP_BYTES = 256 * 2**20


@dataclass
class RecordedRun:
    """One run's record, what made it, and the steps decoded in full so far."""

    job_id: int
    label: str
    record: RunRecord
    request: Any
    recipe: dict
    draft: bool
    resume: Any = None  # ResumeState of a draft that can be continued
    live: bool = False  # still running: the record grows; the result's record replaces it
    decoded: dict[int, np.ndarray] = field(default_factory=dict)  # step index -> HxWx3


class RunHistory(QObject):
    """Collects every run's step record from the worker; decodes and promotes steps."""

    runs_changed = Signal()  # a run arrived, ended or was forgotten
    run_updated = Signal(int)  # job id: a running run recorded more steps
    step_decoded = Signal(int, int)  # job id, step index (0-based)
    error_raised = Signal(str, str)
    layer_promoted = Signal(int)  # layer id

    def __init__(self, document: Document, worker: GenerationWorker, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.worker = worker
        self.runs: list[RecordedRun] = []
        self.cap_bytes = DEFAULT_CAP_BYTES  # full-size frames of all kept runs together
        self._labels: dict[int, str] = {}
        self._decodes: dict[int, tuple[int, int]] = {}  # decode job id -> (run job id, step)
        self._continues: dict[int, str] = {}  # continue job id -> label of the layer
        self._requests: dict[int, Any] = {}  # running job id -> its request
        self._pending: tuple[int, RunRecord] | None = None  # newest live record not yet shown
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_INTERVAL_MS)
        self._live_timer.timeout.connect(self._apply_live)
        worker.job_started.connect(self._on_started)
        worker.step_previewed.connect(self._on_preview)
        worker.job_finished.connect(self._on_result)
        worker.job_cancelled.connect(self._on_result)
        worker.job_failed.connect(self._on_failed)

    def run(self, job_id: int) -> RecordedRun | None:
        return next((r for r in self.runs if r.job_id == job_id), None)

    def _on_started(self, job_id: int) -> None:
        job = next((j for j in self.worker.jobs() if j.id == job_id), None)
        if job is not None:
            self._labels[job_id] = job.label
            self._requests[job_id] = job.request

    # ---- a running run (GUI thread, throttled; the newest record wins) --------------------
    def _on_preview(self, job_id: int, preview: Any) -> None:
        record = getattr(preview, "record", None)
        if record is None or not record.frames or job_id not in self._requests:
            return
        self._pending = (job_id, record)
        if not self._live_timer.isActive():
            self._live_timer.start()

    def _apply_live(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None or pending[0] not in self._requests:
            return  # the run ended meanwhile: its result's record is the truth
        job_id, record = pending
        run = self.run(job_id)
        if run is not None:
            run.record = record
            self.run_updated.emit(job_id)
            return
        request = self._requests[job_id]
        label = self._labels.get(job_id) or _default_label(record, request)
        recipe = dict(request.describe()) if hasattr(request, "describe") else {}
        self.runs.append(RecordedRun(job_id, label, record, request, recipe, False, live=True))
        del self.runs[:-KEEP_RUNS]
        self.runs_changed.emit()

    def _forget_live(self, job_id: int) -> RecordedRun | None:
        """The run ended: no more live records for it; its live entry, if it had one."""
        self._requests.pop(job_id, None)
        if self._pending is not None and self._pending[0] == job_id:
            self._pending = None
        run = self.run(job_id)
        return run if run is not None and run.live else None

    def _on_result(self, job_id: int, result: Any) -> None:
        label = self._labels.pop(job_id, "")
        live = self._forget_live(job_id)
        if isinstance(result, DecodeResult):
            self._landed_decode(job_id, result)
            return
        if job_id in self._continues:
            self._land(result, self._continues.pop(job_id))
        record = getattr(result, "record", None)
        if record is None or not record.frames:
            if live is not None:
                self.runs.remove(live)
                self.runs_changed.emit()
            return
        run = live or RecordedRun(
            job_id, label or _default_label(record, result.request), record, None, {}, False
        )
        run.record, run.request, run.recipe = record, result.request, dict(result.recipe)
        run.draft, run.resume, run.live = result.draft, result.resume, False
        if live is None:
            self.runs.append(run)
            del self.runs[:-KEEP_RUNS]
        self.enforce_cap()
        self.runs_changed.emit()

    def full_bytes(self) -> int:
        return sum(f.full_bytes for run in self.runs for f in run.record.frames)

    def enforce_cap(self) -> None:
        """Drop full-size frames of older runs, oldest first, until all runs fit the cap."""
        excess = self.full_bytes() - self.cap_bytes
        for run in self.runs:
            if excess <= 0:
                return
            frames, dropped = [], 0
            for frame in run.record.frames:
                if excess > 0 and frame.full_bytes:
                    excess -= frame.full_bytes
                    frame = replace(frame, xt=None, x0=None, noise=None, x0_latent=None)
                    dropped += 1
                frames.append(frame)
            record = run.record
            run.record = replace(record, frames=tuple(frames), dropped=record.dropped + dropped)

    def _landed_decode(self, job_id: int, result: DecodeResult) -> None:
        target = self._decodes.pop(job_id, None)
        run = self.run(target[0]) if target else None
        if run is not None:
            run.decoded[target[1]] = np.asarray(result.image)
            self.step_decoded.emit(run.job_id, target[1])

    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        self._labels.pop(job_id, None)
        live = self._forget_live(job_id)
        if live is not None:  # a failed run leaves no record behind
            self.runs.remove(live)
            self.runs_changed.emit()
        ours = self._continues.pop(job_id, None) is not None
        if self._decodes.pop(job_id, None) is not None or ours:
            self.error_raised.emit(message, details)

    def _land(self, result: Any, label: str) -> None:
        """A continued run's result (or its new draft) as a layer, one undo step."""
        if result is None:
            return
        if result.draft:
            label = f"Draft (step {result.steps_done}/{result.request.num_inference_steps}) {label}"
        metadata = dict(result.recipe)
        layer = Layer(label, rgba_from_rgb(result.image), draft=result.draft, metadata=metadata)
        self.document.add_result_layer(layer, f"Generate {label}")
        self.layer_promoted.emit(layer.id)

    # ---- actions --------------------------------------------------------------------------
    def decode(self, job_id: int, index: int, decoder: str | None = None) -> int | None:
        """Queue a full decode of step `index` on the generation thread; None if impossible."""
        run = self.run(job_id)
        if run is not None and not run.record.decodable:
            log.info("run %s works on pixels: its steps need no decode", job_id)
            return None
        frame = run.record.frames[index] if run is not None else None
        if frame is None or frame.x0_latent is None:
            self.error_raised.emit(
                "This step's latent was dropped to stay within the recording memory cap.",
                "Raise 'Step recording memory' in Preferences to keep more steps decodable.",
            )
            return None
        request = run.request
        decode = DecodeRequest(
            request.model_path,
            frame.x0_latent,
            run.record.width,
            run.record.height,
            decoder,
            getattr(request, "device", None),
            getattr(request, "dtype", None),
            frame.step,
        )
        what = "tiny decoder" if decoder else "full VAE"
        decode_id = self.worker.submit(decode, f"Decode step {frame.step} ({what}) of {run.label}")
        self._decodes[decode_id] = (job_id, index)
        return decode_id

    def can_continue(self, job_id: int) -> bool:
        run = self.run(job_id)
        return run is not None and run.draft and run.resume is not None

    def continue_run(self, job_id: int) -> int | None:
        """Queue the rest of a cancelled prompt run from its last step (same seed)."""
        run = self.run(job_id)
        if run is None or not self.can_continue(job_id):
            self.error_raised.emit(
                "Only a stopped prompt run (text to image, one batch) can be continued.",
                "Image to image, inpaint, semantic and batched runs start again instead.",
            )
            return None
        request = replace(run.request, resume=run.resume)
        label = f"Continued: {run.label}"
        job = self.worker.submit(request, label)
        self._continues[job] = label
        return job

    def picture(self, job_id: int, index: int, view: str) -> np.ndarray:
        """Step `index` in `view` at the run's output size (the full decode for x0 when made)."""
        run = self.run(job_id)
        if run is None:
            raise KeyError(job_id)
        if view == "x0" and index in run.decoded:
            return run.decoded[index]
        image = view_image(run.record, index, view)
        return resized(image, run.record.width, run.record.height)

    def promote(self, job_id: int, index: int, view: str = "x0") -> int | None:
        """Add step `index` as a new layer (one undo step); returns the layer id."""
        run = self.run(job_id)
        if run is None:
            return None
        frame = run.record.frames[index]
        decoded = view == "x0" and index in run.decoded
        what = "decoded" if decoded else VIEWS[view].split(" ")[-1]
        name = f"Step {frame.step}/{run.record.total} ({what}) {run.label}"
        metadata = dict(run.recipe, promoted_step=frame.step, promoted_view=view, draft=True)
        metadata.update(sigma=frame.sigma, timestep=frame.timestep)
        rgb = self.picture(job_id, index, view)
        layer = Layer(name, rgba_from_rgb(rgb), draft=True, metadata=metadata)
        self.document.add_result_layer(layer, f"Promote step {frame.step}")
        self.layer_promoted.emit(layer.id)
        return layer.id


def _default_label(record: RunRecord, request: Any) -> str:
    return f"{record.sampler}: {getattr(request, 'prompt', '')}"
