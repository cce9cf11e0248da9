"""The per-document controller: settings -> request snapshot -> job queue -> results as layers."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from studio.document.document import Document
from studio.document.layers import Layer
from studio.engine.diffusion.samplers import sampler_names
from studio.engine.families import Family, family_of_model
from studio.engine.inputs import GenerateParams
from studio.engine.memory.estimate import device_memory
from studio.engine.memory.fit import MemoryVerdict
from studio.engine.memory.preflight import MemoryProbe, device_state, preflight
from studio.engine.models.registry import ModelInfo, inspect_folder, pick_default, scan
from studio.engine.requests import (
    GenerationRequest,
    GenerationResult,
    MemorySettings,
    StepPreview,
)
from studio.errors import StudioError
from studio.io.paths import model_search_dirs, user_models_dir
from studio.session.jobs import JobOwner, JobQueue, QueuedJob
from studio.session.landing import land_result
from studio.session.modes import Sources, build_for_mode
from studio.session.settings import PromptSettings

log = logging.getLogger(__name__)
EXTRA_KINDS = ("controlnet", "lora", "taesd", "embedding")
NOTE_KEYS = ("memory_retry", "vae_fp32")  # recipe entries that say how a job was changed


def _samples(model: ModelInfo) -> bool:
    """A model its family samples from a seed alone (StyleGAN): a Generate-dock model."""
    family = family_of_model(model) if model.owner else None
    return family is not None and "sample" in family.modes


@dataclass(frozen=True)
class Progress:
    """What the status bar shows about the running job."""

    job_id: int
    step: int
    total: int
    phase: str
    it_per_s: float
    eta_s: float | None


MODE_LABELS = {
    "txt2img": "Prompt",
    "img2img": "Img2img",
    "inpaint": "Inpaint",
    "semantic": "Paint",
    "semantic-inpaint": "Inpaint from labels",
}


def _progress(job_id: int, preview: StepPreview) -> Progress:
    rate = preview.step / preview.elapsed if preview.elapsed > 0 and preview.step else 0.0
    eta = (preview.total - preview.step) / rate if rate > 0 else None
    return Progress(job_id, preview.step, preview.total, preview.phase, rate, eta)


def _short(text: str, limit: int = 32) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class GenerationSession(QObject, JobOwner):
    """Validates, snapshots and queues generations; lands results in the document."""

    preview_changed = Signal(object)  # (HxWx3 uint8 preview, (width, height)) or None (clear)
    progress_changed = Signal(object)  # Progress or None (idle)
    error_raised = Signal(str, str)  # message, details
    models_changed = Signal()
    result_added = Signal(int)  # layer id
    notice = Signal(str)  # a short status-bar message about a job that ended
    job_noted = Signal(str)  # a job ran differently than asked (memory retry, fp32 decode)
    memory_refused = Signal(object)  # MemoryVerdict: the job was not started, it would not fit

    def __init__(self, document: Document, jobs: JobQueue, parent=None) -> None:
        super().__init__(parent)
        self.document = document
        self.jobs = jobs
        self.worker = jobs.worker  # for what the engine holds (the memory estimate)
        self.settings = PromptSettings(width=document.width, height=document.height)
        self.models: list[ModelInfo] = []
        self.extra_model_paths: list[str] = []
        self.extras: list[ModelInfo] = []  # ControlNets, LoRAs, preview decoders
        self.gan_models: list[ModelInfo] = []  # SPADE, pix2pix, CycleGAN generators
        self.last_seed: int | None = None
        self.record_cap_bytes = 256 * 2**20  # step-record memory per run (Preferences)
        self.memory_settings = MemorySettings()  # Preferences → Memory: preset, retry choices
        self.memory_probe: MemoryProbe = device_memory  # device -> (free, total) bytes
        self._refused: tuple[GenerationRequest, str, Sources, MemoryVerdict] | None = None
        jobs.job_previewed.connect(self._on_progress)  # every job's progress, not only ours
        jobs.jobs_changed.connect(self._on_queue_changed)

    # ---- models ---------------------------------------------------------------------------
    def refresh_models(self) -> list[ModelInfo]:
        everything = scan(model_search_dirs(), kinds=None)  # one pass over the files
        found = [m for m in everything if m.kind == "sd-pipeline" or not m.usable or _samples(m)]
        known = {m.path for m in found}
        for path in self.extra_model_paths:
            if path not in known:
                try:
                    found.append(inspect_folder(path))
                except StudioError as exc:
                    log.warning("opened model folder %s is no longer usable: %s", path, exc)
        self.models = found
        self.extras = [m for m in everything if m.usable and m.kind in EXTRA_KINDS]
        self.gan_models = [m for m in everything if m.usable and m.kind == "gan"]
        default = pick_default(found)
        if not self.settings.model_path and default is not None:
            self.settings.model_path = default.path
        self.models_changed.emit()
        return found

    def load_settings_from_image(self, path: str) -> bool:
        """Take prompt, seed, steps, CFG, size and sampler from a PNG's recipe (ours or A1111)."""
        from studio.io.settings_from_png import read_settings

        try:
            values = read_settings(path)
        except StudioError as exc:
            self.error_raised.emit(exc.message, exc.details)
            return False
        s = self.settings
        names = {
            "prompt": "prompt",
            "negative_prompt": "negative_prompt",
            "seed": "seed",
            "num_inference_steps": "steps",
            "guidance_scale": "guidance_scale",
            "width": "width",
            "height": "height",
        }
        for key, attr in names.items():
            if values.get(key) is not None:
                setattr(s, attr, values[key])
        s.random_seed = "seed" not in values and s.random_seed
        notes = []
        sampler = values.get("sampler")
        if sampler in sampler_names():
            s.sampler = sampler
        elif sampler:
            notes.append(f"sampler {sampler!r} is unknown, kept {s.sampler}")
        model = values.get("model_name")
        match = next(
            (m for m in self.models if m.usable and model in (m.name, Path(m.path).stem)), None
        )
        if match is not None:
            s.model_path = match.path
        elif model:
            notes.append(f"model {model!r} is not installed, kept the current one")
        text = f"Settings loaded from {Path(path).name}"
        self.notice.emit(text + ("; " + "; ".join(notes) if notes else ""))
        return True

    def open_model_folder(self, path: str) -> bool:
        """Add a diffusers folder chosen by the artist and select it."""
        try:
            info = inspect_folder(path)
        except StudioError as exc:
            self.error_raised.emit(exc.message, exc.details)
            return False
        if not info.usable:
            self.error_raised.emit(f"Cannot use {info.name}: {info.problem}.", info.path)
            return False
        if info.path not in self.extra_model_paths:
            self.extra_model_paths.append(info.path)
        self.settings.model_path = info.path
        self.refresh_models()
        return True

    # ---- generate -------------------------------------------------------------------------
    def _check_model(self) -> None:
        s = self.settings
        broken = next((m for m in self.models if m.path == s.model_path and not m.usable), None)
        if broken is not None:  # listed as broken by the scan: say why instead of queueing it
            raise StudioError(f"Cannot use {broken.name}: {broken.problem}", broken.path)
        if s.model_path:
            return
        if not any(m.usable for m in self.models):
            raise StudioError(
                "No model is installed yet. Put a Stable Diffusion model (diffusers folder or "
                f".safetensors file) in {user_models_dir()}, or add one in Models → Model manager."
            )
        raise StudioError(
            "No model is selected. Choose one in the Model list, or use Models → Open model "
            "folder to pick a Stable Diffusion diffusers folder."
        )

    def params(self, seed: int | None = None) -> GenerateParams:
        """The settings as the plain data every family builds its requests from."""
        s = self.settings
        if seed is None:
            seed = secrets.randbelow(2**32) if s.random_seed else s.seed
        embeddings = tuple(m.path for m in self.extras if m.kind == "embedding")
        return GenerateParams.from_values(
            s,
            seed=seed,
            record_cap_bytes=self.record_cap_bytes,
            memory=self.memory_settings,
            embeddings=embeddings,
        )

    def model_info(self, path: str) -> ModelInfo | None:
        """What the last scan found at `path` (None: not scanned, e.g. just opened)."""
        return next((m for m in self.models if m.path == path), None)

    def family(self, path: str | None = None) -> Family | None:
        """The family of a model (default: the chosen one); None if no family knows it."""
        path = self.settings.model_path if path is None else path
        return family_of_model(self.model_info(path) or path) if path else None

    def build_request(self) -> tuple[Any, Sources]:
        """Validate the settings and have the model's family build the request from the
        document (the same family code `studio generate` uses)."""
        s = self.settings
        self._check_model()
        mode = s.mode if s.mode in ("paint", "inpaint", "sample") else "prompt"
        model = self.model_info(s.model_path) or s.model_path
        built, sources = build_for_mode(model, mode, self.params(), self.document)
        return built.request, sources

    def generate(self) -> int | None:
        """Queue a job from the current settings; errors go to the banner, nothing is queued."""
        try:
            request, sources = self.build_request()
        except (StudioError, ValueError) as exc:
            message = exc.message if isinstance(exc, StudioError) else str(exc)
            details = exc.details if isinstance(exc, StudioError) else ""
            self.error_raised.emit(message, details)
            return None
        kind = MODE_LABELS.get(getattr(request, "mode", ""), "Prompt")
        label = f"{kind}: {_short(getattr(request, 'prompt', '')) or '(no prompt)'}"
        self.last_seed = getattr(request, "seed", None)
        if sources.notes:
            self.notice.emit("; ".join(sources.notes))
        verdict = self.memory_verdict(request)
        if verdict is not None and not verdict.fits:  # it would run out of memory: ask first
            self._refused = (request, label, sources, verdict)
            log.info("not started, would not fit: %s", verdict.message)
            self.memory_refused.emit(verdict)
            return None
        self._refused = None
        return self._submit(request, label, sources)

    def memory_verdict(self, request: GenerationRequest) -> MemoryVerdict | None:
        """The estimate against the device's free memory; None where it cannot be told."""
        if not isinstance(request, GenerationRequest):
            return None  # only prompt models have an estimate
        try:
            state = device_state(request.device, request.dtype, self.memory_probe)
            if state is None:
                return None
            loaded = self.worker.resident_bytes(request.model_path, state.device, state.dtype)
            info = next((m for m in self.models if m.path == request.model_path), None)
            return preflight(request, state, loaded, info.variant if info else "")
        except (OSError, ValueError, StudioError) as exc:  # no estimate never blocks a job
            log.warning("memory estimate failed: %s", exc)
            return None

    def run_memory_option(self, index: int | None) -> int | None:
        """Start the job that did not fit, changed to option `index` (None: as it was)."""
        if self._refused is None:
            return None
        request, label, sources, verdict = self._refused
        self._refused = None
        if index is None:
            self.notice.emit("Starting anyway; if memory runs out, safer settings are retried")
            return self._submit(request, label, sources)
        option = verdict.options[index]
        if (option.request.width, option.request.height) != (request.width, request.height):
            sources = replace(sources, fit_to_canvas=True)  # the result still fills the canvas
        self.notice.emit(f"Started with: {option.label}")
        return self._submit(option.request, label, sources)

    def drop_refused_job(self) -> None:
        self._refused = None

    def _submit(self, request: GenerationRequest, label: str, sources: Sources) -> int:
        return self.jobs.submit(request, label, self, kind="generate", data=sources)

    def rerun_exactly(self, layer: Layer | None) -> int | None:
        """Queue the request that made `layer` again (its model family rebuilds it from the
        recipe), refusing if its files have changed."""
        recipe = layer.metadata if layer is not None else {}
        if not recipe.get("request"):
            self.error_raised.emit(
                "The active layer has no generation recipe to re-run.",
                "Select a generated layer (not a draft or a painted layer).",
            )
            return None
        arrays = getattr(layer, "sources", {}) or {}
        try:
            family = self.family(str(recipe["request"].get("model_path") or recipe.get("model")))
            if family is None:
                raise StudioError(
                    "The model that made this layer is not installed any more.",
                    str(recipe.get("model", "")),
                )
            request = family.request_from_recipe(recipe, dict(arrays))
        except (StudioError, KeyError, TypeError, ValueError, AttributeError) as exc:
            message = exc.message if isinstance(exc, StudioError) else f"Cannot re-run: {exc}"
            self.error_raised.emit(message, getattr(exc, "details", ""))
            return None
        label = f"Re-run: {_short(getattr(request, 'prompt', '')) or f'seed {request.seed}'}"
        fit = bool(recipe.get("fit_to_canvas"))
        return self._submit(request, label, Sources(dict(arrays), fit_to_canvas=fit))

    def cancel(self) -> None:
        self.jobs.cancel()

    def remove_job(self, job_id: int) -> bool:
        """Take a waiting job out of the queue."""
        return self.jobs.remove(job_id)

    # ---- our jobs, called back by the job queue (GUI thread) ------------------------------
    def job_started(self, job: QueuedJob) -> None:
        self.progress_changed.emit(Progress(job.id, 0, 0, "starting", 0.0, None))

    def job_previewed(self, job: QueuedJob, preview: StepPreview) -> None:
        if preview.image is not None:
            width = getattr(job.request, "width", self.document.width)
            height = getattr(job.request, "height", self.document.height)
            self.preview_changed.emit((preview.image, (width, height)))

    def _on_progress(self, job: QueuedJob, preview: StepPreview) -> None:
        """Any job's progress (ours, Explore, Translate…) reaches the status bar."""
        if not job.channel:  # jobs of a channel (the live draft) must not flicker the status
            self.progress_changed.emit(_progress(job.id, preview))

    def _on_queue_changed(self) -> None:
        if not self.jobs.busy():
            self.progress_changed.emit(None)  # whoever queued the last job, the queue is idle

    def _land(self, job: QueuedJob, result: GenerationResult, draft: bool) -> None:
        sources = job.data if isinstance(job.data, Sources) else Sources()
        layers = land_result(self.document, job.label or "Result", result, sources, draft)
        log.info(
            "job %d landed as %r after %d steps (%d previews shown)",
            job.id, layers[0].name, result.steps_done, job.pictures,
        )  # fmt: skip
        self.result_added.emit(layers[0].id)

    def job_finished(self, job: QueuedJob, result: GenerationResult) -> None:
        self._land(job, result, draft=False)
        text = f"Finished in {result.seconds:.1f} s (seed {getattr(result.request, 'seed', '-')})"
        notes = [result.recipe[k] for k in NOTE_KEYS if result.recipe.get(k)]
        if notes:  # the job ran differently from what was asked: say so where the artist looks
            self.job_noted.emit(" ".join(notes))
            text = " ".join([*notes, text])
        self.notice.emit(text)
        self._idle()

    def job_cancelled(self, job: QueuedJob, draft: GenerationResult | None) -> None:
        if draft is not None:
            self._land(job, draft, draft=True)
            self.notice.emit(
                f"Stopped after step {draft.steps_done}; the last preview was kept as a draft layer"
            )
        else:
            self.notice.emit("Cancelled before the first step; nothing to keep")
        self._idle()

    def job_failed(self, job: QueuedJob, message: str, details: str) -> None:
        self.error_raised.emit(message, details)
        self._idle()

    def _idle(self) -> None:
        self.preview_changed.emit(None)
        if not self.jobs.busy(self):  # nothing of ours is queued or running any more
            self.progress_changed.emit(None)
