"""The diffusion engine's one seam: run(request, on_step, cancel) -> result (Qt-free)."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import studio
from studio.engine.device import choose_device, choose_dtype
from studio.engine.diffusion.previews import upscale
from studio.engine.diffusion.samplers import SAMPLERS, make_scheduler
from studio.engine.diffusion.stream import Cancelled, StepStream
from studio.engine.errors import InvalidRequestError, OutOfMemoryError
from studio.engine.loading import LoadedPipeline, PipelineCache
from studio.engine.requests import GenerationRequest, GenerationResult, StepPreview

log = logging.getLogger(__name__)
MAX_STEPS = 500
MAX_SIDE = 4096


def planned_steps(request: GenerationRequest) -> int:
    """Visible steps the run will make (img2img skips the first 1 - strength of the schedule)."""
    if request.init_image is None:
        return request.num_inference_steps
    return min(int(request.num_inference_steps * request.strength), request.num_inference_steps)


def validate(request: GenerationRequest) -> None:
    """Refuse bad values early, naming the constraint and the value."""
    if not 1 <= request.num_inference_steps <= MAX_STEPS:
        raise InvalidRequestError(
            f"Steps must be between 1 and {MAX_STEPS}, got {request.num_inference_steps}."
        )
    if not 0.0 <= request.guidance_scale <= 50.0:
        raise InvalidRequestError(
            f"CFG scale must be between 0 and 50, got {request.guidance_scale}."
        )
    if not 0 <= request.seed < 2**64:
        raise InvalidRequestError(f"Seed must be between 0 and 2^64-1, got {request.seed}.")
    if request.sampler not in SAMPLERS:
        raise InvalidRequestError(
            f"Unknown sampler {request.sampler!r}.", "Known samplers: " + ", ".join(SAMPLERS)
        )
    for name, value in (("Width", request.width), ("Height", request.height)):
        if not 8 <= value <= MAX_SIDE or value % 8:
            raise InvalidRequestError(
                f"{name} must be a multiple of 8 between 8 and {MAX_SIDE}, got {value}."
            )
    if request.init_image is not None:
        if not 0.0 < request.strength <= 1.0:
            raise InvalidRequestError(
                f"Strength must be above 0 and at most 1, got {request.strength}."
            )
        if planned_steps(request) < 1:
            raise InvalidRequestError(
                f"With strength {request.strength} and {request.num_inference_steps} steps no "
                "denoising step would run; raise the steps or the strength."
            )


def check_size_for_model(request: GenerationRequest, loaded: LoadedPipeline) -> None:
    """The UNet's skip connections need sizes divisible by its total downsampling factor."""
    pipe = loaded.txt2img
    levels = len(pipe.unet.config.block_out_channels) - 1
    multiple = pipe.vae_scale_factor * 2**levels
    for name, value in (("Width", request.width), ("Height", request.height)):
        if value % multiple:
            lower = max(multiple, value // multiple * multiple)
            raise InvalidRequestError(
                f"{name} {value} does not fit this model: it needs a multiple of {multiple}. "
                f"Try {lower} or {lower + multiple}."
            )


def _to_uint8(images: np.ndarray) -> np.ndarray:
    """Float [0, 1] NHWC -> first image HxWx3 uint8, rounded as diffusers' numpy_to_pil does."""
    return (images[0] * 255).round().astype(np.uint8)


def _versions() -> dict[str, str]:
    import diffusers
    import torch
    import transformers

    return {
        "studio": studio.__version__,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
    }


def _is_oom(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    memory = "out of memory" in text or "not enough memory" in text
    return isinstance(exc, RuntimeError) and memory


class DiffusionEngine:
    """Runs Stable Diffusion requests on one device; keeps the last model loaded."""

    def __init__(self) -> None:
        self.cache = PipelineCache()

    def run(
        self,
        request: GenerationRequest,
        on_step: Callable[[StepPreview], None],
        cancel: threading.Event,
    ) -> GenerationResult | None:
        """Generate; on cancel return the last preview as a draft (None if no step ran)."""
        validate(request)
        device = choose_device(request.device)
        dtype = choose_dtype(device, request.dtype)
        total = planned_steps(request)
        if cancel.is_set():
            return None
        on_step(StepPreview(0, total, None, 0.0, phase="loading"))
        loaded = self.cache.get(request.model_path, device, dtype)
        check_size_for_model(request, loaded)
        if cancel.is_set():
            return None
        oom = None
        try:
            return self._denoise(request, loaded, on_step, cancel, total)
        except Exception as exc:  # only to classify out-of-memory; everything else re-raised
            if not _is_oom(exc):
                raise
            oom = f"{type(exc).__name__}: {exc}"
        # Recover outside the except block so the traceback does not pin the job's tensors.
        gc.collect()
        if device == "cuda":
            import torch

            torch.cuda.empty_cache()
        raise OutOfMemoryError(
            f"The {device} ran out of memory at {request.width}x{request.height}. "
            "Try a smaller size; the model stays loaded.",
            oom,
        )

    def _denoise(self, request, loaded, on_step, cancel, total) -> GenerationResult | None:
        import torch

        scheduler = make_scheduler(loaded.base_scheduler_config, request.sampler)
        pipe = loaded.img2img if request.init_image is not None else loaded.txt2img
        pipe.scheduler = scheduler
        stream = StepStream(scheduler, loaded.info.family, total, on_step, cancel)
        kwargs: dict[str, Any] = dict(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt or None,
            num_inference_steps=request.num_inference_steps,
            guidance_scale=request.guidance_scale,
            generator=torch.Generator("cpu").manual_seed(request.seed),
            output_type="np",
            callback_on_step_end=stream.callback,
            callback_on_step_end_tensor_inputs=["latents"],
        )
        if request.init_image is not None:
            from PIL import Image

            init = Image.fromarray(np.asarray(request.init_image)).convert("RGB")
            if init.size != (request.width, request.height):
                init = init.resize((request.width, request.height), Image.Resampling.BICUBIC)
            kwargs.update(image=init, strength=request.strength)
        else:
            kwargs.update(width=request.width, height=request.height)
        started = time.perf_counter()
        try:
            with torch.inference_mode():
                images = pipe(**kwargs).images
        except Cancelled:
            return self._draft(request, loaded, stream, scheduler, time.perf_counter() - started)
        seconds = time.perf_counter() - started
        recipe = self._recipe(request, loaded, scheduler, stream.steps_done, seconds, draft=False)
        return GenerationResult(
            _to_uint8(images), request, recipe, False, stream.steps_done, seconds
        )

    def _draft(self, request, loaded, stream, scheduler, seconds) -> GenerationResult | None:
        preview = stream.last_preview
        if preview is None or preview.image is None:
            return None
        image = upscale(np.asarray(preview.image), request.width, request.height)
        recipe = self._recipe(request, loaded, scheduler, stream.steps_done, seconds, draft=True)
        return GenerationResult(image, request, recipe, True, stream.steps_done, seconds)

    def _recipe(self, request, loaded, scheduler, steps_done, seconds, draft) -> dict[str, Any]:
        recipe = request.describe()
        recipe.update(
            model_name=loaded.info.name,
            model_family=loaded.info.family,
            scheduler=type(scheduler).__name__,
            scheduler_config=dict(scheduler.config),
            device=loaded.device,
            dtype=loaded.dtype,
            steps_done=steps_done,
            draft=draft,
            seconds=round(seconds, 3),
            versions=_versions(),
        )
        return recipe
