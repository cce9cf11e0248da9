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
from studio.session.jobs import JobOwner, JobQueue, QueuedJob
from studio.worker.jobs import JobState

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


class RunHistory(QObject, JobOwner):
    """Records every job's steps (through the job queue); decodes, continues, promotes steps."""

    runs_changed = Signal()  # a run arrived, ended or was forgotten
    run_updated = Signal(int)  # job id: a running run recorded more steps
    step_decoded = Signal(int, int)  # job id, step index (0-based)
    error_raised = Signal(str, str)
    layer_promoted = Signal(int)  # layer id

    def __init__(self, document: Document, jobs: JobQueue, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.jobs = jobs
        self.runs: list[RecordedRun] = []
        self.cap_bytes = DEFAULT_CAP_BYTES  # full-size frames of all kept runs together
        self._pending: tuple[QueuedJob, RunRecord] | None = None  # newest record not yet shown
        self._live_timer = QTimer(self)
        self._live_timer.setSingleShot(True)
        self._live_timer.setInterval(LIVE_INTERVAL_MS)
        self._live_timer.timeout.connect(self._apply_live)
        jobs.job_previewed.connect(self._on_preview)  # every job's run is recorded…
        jobs.job_ended.connect(self._on_ended)  # …whoever owns it

    def run(self, job_id: int) -> RecordedRun | None:
        return next((r for r in self.runs if r.job_id == job_id), None)

    # ---- a running run (GUI thread, throttled; the newest record wins) --------------------
    def _on_preview(self, job: QueuedJob, preview: Any) -> None:
        record = getattr(preview, "record", None)
        if record is None or not record.frames:
            return
        self._pending = (job, record)
        if not self._live_timer.isActive():
            self._live_timer.start()

    def _apply_live(self) -> None:
        pending, self._pending = self._pending, None
        now = self.jobs.job(pending[0].id) if pending is not None else None
        if now is None or now.state is not JobState.RUNNING:
            return  # the run ended meanwhile: its result's record is the truth
        job_id, record, request = now.id, pending[1], now.request
        run = self.run(job_id)
        if run is not None:
            run.record = record
            self.run_updated.emit(job_id)
            return
        label = now.label or _default_label(record, request)
        recipe = dict(request.describe()) if hasattr(request, "describe") else {}
        self.runs.append(RecordedRun(job_id, label, record, request, recipe, False, live=True))
        del self.runs[:-KEEP_RUNS]
        self.runs_changed.emit()

    def _forget_live(self, job_id: int) -> RecordedRun | None:
        """The run ended: no more live records for it; its live entry, if it had one."""
        if self._pending is not None and self._pending[0].id == job_id:
            self._pending = None
        run = self.run(job_id)
        return run if run is not None and run.live else None

    def _on_ended(self, job: QueuedJob, result: Any) -> None:
        """Any job ended: its result's record replaces the live one (none: the run is gone)."""
        live = self._forget_live(job.id)
        record = getattr(result, "record", None)
        if record is None or not record.frames:  # failed, removed, decodes, nothing recorded
            if live is not None:
                self.runs.remove(live)
                self.runs_changed.emit()
            return
        label = job.label or _default_label(record, result.request)
        run = live or RecordedRun(job.id, label, record, None, {}, False)
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

    # ---- our own jobs (decodes and continued runs), called back by the job queue ---------
    def job_finished(self, job: QueuedJob, result: Any) -> None:
        if isinstance(result, DecodeResult):
            run_id, index = job.data  # the run and step index it decodes
            run = self.run(run_id)
            if run is not None:
                run.decoded[index] = np.asarray(result.image)
                self.step_decoded.emit(run_id, index)
        else:
            self._land(result, job.label)

    def job_cancelled(self, job: QueuedJob, draft: Any) -> None:
        if job.kind != "decode":
            self._land(draft, job.label)  # a continued run stopped again: its draft

    def job_failed(self, job: QueuedJob, message: str, details: str) -> None:
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
        label = f"Decode step {frame.step} ({what}) of {run.label}"
        return self.jobs.submit(decode, label, self, kind="decode", data=(job_id, index))

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
        return self.jobs.submit(request, f"Continued: {run.label}", self, kind="generate")

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
