"""The diffusion engine's one seam: run(request, on_step, cancel) -> result (Qt-free)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from studio.engine.cancel import cancel_points
from studio.engine.diffusion import fewstep
from studio.engine.diffusion.controlnet import load_controlnet
from studio.engine.diffusion.decode_step import decode_step
from studio.engine.diffusion.loading import LoadedPipeline, PipelineCache
from studio.engine.diffusion.memory_switches import applied, apply_plan
from studio.engine.diffusion.previews import latent_to_rgb, upscale
from studio.engine.diffusion.resume import capture, check_resume, resumed
from studio.engine.diffusion.runs import (
    check_inputs,
    generators,
    make_plan,
    seeds_for,
    skip_initial_noise,
    variation_latents,
)
from studio.engine.diffusion.samplers import SAMPLERS, make_scheduler
from studio.engine.diffusion.stream import StepStream
from studio.engine.diffusion.taesd import GovernedDecoder, load_taesd
from studio.engine.diffusion.vae_guard import BAD_LATENTS, REDECODE_NOTE, Fp32Redecode
from studio.engine.diffusion.walk import mixed_prompt_embeds
from studio.engine.diffusion.weighting import encoders, weighted_kwargs
from studio.engine.memory.device import choose_device, choose_dtype
from studio.engine.memory.estimate import device_memory, plan_for
from studio.engine.memory.oom import describe, free_device_memory, is_out_of_memory
from studio.engine.memory.precision import family_for_model, recipe_note
from studio.engine.memory.presets import MemoryPlan
from studio.engine.memory.retry import join_words, retry_for
from studio.engine.recipe import exact_fields
from studio.engine.record import StepRecorder
from studio.engine.requests import (
    DecodeRequest,
    GenerationRequest,
    GenerationResult,
    StepPreview,
)
from studio.engine.versions import versions
from studio.errors import Cancelled, InvalidRequestError, OutOfMemoryError, StudioError

log = logging.getLogger(__name__)
MAX_STEPS = 500
MAX_SIDE = 4096


def planned_steps(request: GenerationRequest) -> int:
    """Visible steps of the whole job (img2img skips the first 1 - strength of the schedule)."""
    steps = request.num_inference_steps
    strength = request.strength
    if request.mask is not None and request.masked_content == "latent noise":
        strength = 1.0
    if request.init_image is not None:
        steps = min(int(steps * strength), steps)
    return steps * request.batch_count


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
        if planned_steps(request) < request.batch_count:
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


def own_encoding(request: GenerationRequest) -> bool:
    """True when the prompts go through weighting.py (A1111 syntax, long prompts, embeddings)."""
    return request.prompt_syntax != "plain" or bool(request.embeddings)


def weighted(pipe: Any, request: GenerationRequest, embeddings: Any = ()) -> dict[str, Any]:
    """The request's prompts encoded our way for `pipe`."""
    prompt, negative = request.prompt, request.negative_prompt
    return weighted_kwargs(pipe, prompt, negative, embeddings, syntax=request.prompt_syntax)


def load_embeddings(paths: tuple[str, ...], loaded: Any, extras: dict) -> list[Any]:
    """Read the request's embeddings; each must fit every text encoder it will meet."""
    from studio.engine.diffusion.embeddings import check_fits, read_embedding

    found = [read_embedding(p) for p in paths]
    pipes = [loaded.txt2img] + ([extras["refiner"].txt2img] if "refiner" in extras else [])
    for pipe in pipes:
        widths = [e.model.config.hidden_size for e in encoders(pipe)]
        check_fits(found, widths, loaded.info.name)
    return found


def _to_uint8(images: np.ndarray) -> list[np.ndarray]:
    """Float [0, 1] NHWC -> HxWx3 uint8 images, rounded as diffusers' numpy_to_pil does."""
    return [(image * 255).round().astype(np.uint8) for image in images]


class DiffusionEngine:
    """Runs Stable Diffusion requests on one device; keeps recently used models loaded."""

    def __init__(self, cache_budget_bytes: int | None = None, shared: Any = None) -> None:
        # `shared`: the router's one ModelCache (one budget for every family)
        self.cache = PipelineCache.sharing(shared, cache_budget_bytes)

    def resident_bytes(self, path: str, device: str, dtype: str) -> int:
        """Weights of `path` already in memory (any thread may ask: the memory preflight)."""
        return self.cache.resident_bytes(path, device, dtype)

    def run(
        self,
        request: GenerationRequest,
        on_step: Callable[[StepPreview], None],
        cancel: threading.Event,
    ) -> GenerationResult | None:
        """Generate; on cancel return the last preview as a draft (None if no step ran)."""
        if isinstance(request, DecodeRequest):  # a recorded step, decoded on this thread
            return decode_step(self.cache, request)
        validate(request)
        check_inputs(request)
        check_resume(request)
        device = choose_device(request.device)
        dtype = choose_dtype(device, request.dtype, family_for_model(request.model_path))
        total = planned_steps(request)
        if cancel.is_set():
            return None
        on_step(StepPreview(0, total, None, 0.0, phase="loading"))
        loaded = self.cache.get(request.model_path, device, dtype)
        check_size_for_model(request, loaded)
        extras = self._load_extras(request, loaded, device, dtype)
        if cancel.is_set():
            return None
        plan = plan_for(request, device, device_memory(device)[1])
        result, oom = self._attempt(request, plan, loaded, extras, on_step, cancel)
        if oom is None:
            return result
        # Out of memory: we are outside the except block, so the failed attempt's frames and
        # tensors are gone; hand their memory back before the one retry.
        free_device_memory(device)
        return self._retry(request, plan, loaded, extras, on_step, cancel, device, oom)

    def _attempt(self, request, plan, loaded, extras, on_step, cancel):
        """(result, None), or (None, the out-of-memory text); other errors propagate."""
        try:
            total = planned_steps(request)
            return self._denoise(request, loaded, extras, on_step, cancel, total, plan), None
        except Exception as exc:  # only to classify out-of-memory; everything else re-raised
            if not is_out_of_memory(exc):
                raise
            text = describe(exc)  # text only: the exception's traceback pins the job's tensors
            log.warning("out of memory: %s", text)
            return None, text

    def _retry(self, request, plan, loaded, extras, on_step, cancel, device, oom):
        """Once, with the safer settings request.memory allows; the next job is unaffected."""
        size = f"{request.width}x{request.height}"
        retry = retry_for(request, plan, device)
        if retry is None:
            raise OutOfMemoryError(
                f"The {device} ran out of memory at {size}. Try a smaller size or batch, or "
                "allow safer settings for a retry in Preferences → Memory; the model stays "
                "loaded.",
                oom,
            )
        log.warning("retrying after out of memory with %s", ", ".join(retry.changes))
        on_step(StepPreview(0, planned_steps(retry.request), None, 0.0, phase="retrying"))
        result, again = self._attempt(retry.request, retry.plan, loaded, extras, on_step, cancel)
        if again is None:
            if result is not None:
                result.recipe["memory_retry"] = retry.message
            return result
        free_device_memory(device)
        raise OutOfMemoryError(
            f"The {device} ran out of memory at {size}, and again after retrying with "
            f"{join_words(retry.changes)}. Try a smaller size; the model stays loaded.",
            f"First attempt: {oom}\nRetry: {again}",
        )

    def _load_extras(self, request, loaded, device, dtype) -> dict[str, Any]:
        """ControlNet, refiner, preview decoder (cached like models) and the LoRA set."""
        from studio.engine.diffusion.lora import apply_loras

        extras: dict[str, Any] = {}
        family = loaded.info.family
        if request.controlnet_path and request.mode.startswith("semantic"):
            extras["controlnet"] = self.cache.component(
                ("controlnet", request.controlnet_path, device, dtype),
                lambda: load_controlnet(request.controlnet_path, family, device, dtype),
            )
        if request.refiner_path:
            if family != "sdxl":
                raise InvalidRequestError("A refiner works with SDXL models only.")
            refiner = self.cache.get(request.refiner_path, device, dtype)
            if refiner.info.family != "sdxl":
                raise InvalidRequestError(f"{refiner.info.name} is not an SDXL model.")
            extras["refiner"] = refiner
        if request.preview_decoder == "vae":  # full-VAE previews, only when asked for
            vae = loaded.txt2img.vae
            extras["decoder"] = GovernedDecoder(vae, 1.0 / vae.config.scaling_factor)
        elif request.preview_decoder:
            model = self.cache.component(
                ("taesd", request.preview_decoder, device, dtype),
                lambda: load_taesd(request.preview_decoder, device, dtype),
            )
            extras["decoder"] = GovernedDecoder(model)
        if request.loras or getattr(loaded, "lora_state", None):
            apply_loras(loaded, request.loras, request.fuse_loras)
        if request.embeddings:
            extras["embeddings"] = load_embeddings(request.embeddings, loaded, extras)
        return extras

    def _denoise(self, request, loaded, extras, on_step, cancel, total, memory: MemoryPlan):
        import torch

        few = fewstep.resolve(request, loaded.info.variant)
        scheduler = make_scheduler(
            loaded.base_scheduler_config, few.sampler, few.scheduler_overrides
        )
        plan = make_plan(request, loaded, extras.get("controlnet"))
        plan.pipe.scheduler = scheduler
        apply_plan(loaded, [plan.pipe], memory)
        refiner = extras.get("refiner")
        if refiner is not None:
            apply_plan(refiner, [refiner.txt2img], memory)
        if applied(memory, plan.pipe.vae):
            plan.notes["memory_plan"] = applied(memory, plan.pipe.vae)
        family = loaded.info.family
        recorder = StepRecorder(
            family, request.record_cap_bytes, lambda state: latent_to_rgb(state, family)
        )
        recorder.expect(total, request.width, request.height, request.sampler)
        stream = StepStream(
            scheduler, loaded.info.family, total, on_step, cancel, extras.get("decoder"), recorder
        )
        images: list[np.ndarray] = []
        seeds: list[int] = []
        started = time.perf_counter()
        guards = [Fp32Redecode(plan.pipe.vae)]
        if refiner is not None:
            guards.append(Fp32Redecode(refiner.txt2img.vae))
        try:
            with torch.inference_mode(), contextlib.ExitStack() as stack:
                for guard in guards:
                    stack.enter_context(guard)
                # inside the step: between CFG and Heun evaluations, and before the final decode
                stack.enter_context(cancel_points(cancel, *_networks(plan.pipe, refiner)))
                text = {}  # A1111 weighting: encoded once for every run of a batch
                if request.regions:
                    text = self._regions(request, plan, extras, stack)
                elif own_encoding(request) and request.prompt_b is None:
                    text = weighted(plan.pipe, request, extras.get("embeddings", ()))
                for run in range(request.batch_count):
                    run_seeds = seeds_for(request, run)
                    recorder.begin_run()
                    kwargs = dict(plan.kwargs, guidance_scale=few.guidance_scale)
                    kwargs.update(
                        generator=generators(run_seeds),
                        num_images_per_prompt=request.batch_size,
                        output_type="np",
                        callback_on_step_end=stream.callback,
                        callback_on_step_end_tensor_inputs=["latents"],
                    )
                    if request.variation_seed is not None:
                        kwargs["latents"] = variation_latents(request, plan.pipe, run_seeds)
                        skip_initial_noise(kwargs["generator"], kwargs["latents"])
                    if request.prompt_b is not None:
                        del kwargs["prompt"], kwargs["negative_prompt"]
                        embeddings = extras.get("embeddings", ())
                        kwargs.update(mixed_prompt_embeds(plan.pipe, request, embeddings))
                    elif text:
                        del kwargs["prompt"], kwargs["negative_prompt"]
                        kwargs.update(text)
                    if refiner is not None:
                        out = self._with_refiner(request, plan, extras, kwargs, stream, few)
                    else:
                        out = self._call(request, plan.pipe, scheduler, kwargs, stream)
                    if any(g.bad_latents for g in guards):  # before NaN meets uint8
                        raise StudioError(
                            BAD_LATENTS.format(dtype=loaded.dtype), "NaN in the final latents"
                        )
                    images += [plan.finish(img, request) for img in _to_uint8(out)]
                    seeds += run_seeds
        except Cancelled:
            seconds = time.perf_counter() - started
            return self._draft(request, loaded, stream, scheduler, seconds, plan, few, extras)
        seconds = time.perf_counter() - started
        recipe = self._recipe(request, loaded, scheduler, stream, seconds, False, plan, few, extras)
        recipe["seeds"] = seeds
        if any(g.redecoded for g in guards):
            recipe["vae_fp32"] = REDECODE_NOTE
        record = recorder.record(total, request.width, request.height, request.sampler)
        return GenerationResult(
            images[0], request, recipe, False, stream.steps_done, seconds, tuple(images), record
        )

    def _regions(self, request, plan, extras, stack) -> dict[str, Any]:
        """Region contexts for the call, and masked cross-attention installed meanwhile."""
        from studio.engine.diffusion import regions

        pipe, embeddings = plan.pipe, extras.get("embeddings", ())

        def encode(prompt: str, negative: str, chunks: int) -> dict[str, Any]:
            syntax = request.prompt_syntax
            return weighted_kwargs(pipe, prompt, negative, embeddings, chunks, syntax)

        text, slots = regions.region_text(pipe, request, encode)
        scale = pipe.vae_scale_factor
        box = plan.crop.box if plan.crop is not None else None
        size = (request.height // scale, request.width // scale)
        masks = regions.latent_masks(request.region_map, len(request.regions), box, size)
        processor = regions.RegionAttention(masks, slots, text["prompt_embeds"].shape[1])
        models = [m for m in (pipe.unet, getattr(pipe, "controlnet", None)) if m is not None]
        stack.enter_context(regions.installed(models, processor))
        plan.notes["region_tokens"] = [end - start for start, end in slots]
        return text

    def _call(self, request, pipe, scheduler, kwargs, stream):
        """One pipeline call; prompt runs can be cancelled and later continued exactly."""
        gens = kwargs["generator"]
        resume = request.resume
        offset = 0 if resume is None else resume.loop_index + 1
        if request.mode == "txt2img" and request.batch_count == 1 and not request.refiner_path:
            stream.capture_resume = lambda i, latents: capture(
                scheduler, offset + i, stream.steps_done, latents, gens, request
            )
        if resume is None:
            return pipe(**kwargs).images
        stream.steps_done = resume.steps_done
        with resumed(pipe, scheduler, resume, gens):
            return pipe(**kwargs).images

    def _with_refiner(self, request, plan, extras, kwargs, stream, few):
        """SDXL base for the first refiner_switch of the schedule, the refiner for the rest."""
        refiner = extras["refiner"]
        kwargs = dict(kwargs, denoising_end=request.refiner_switch, output_type="latent")
        latents = plan.pipe(**kwargs).images
        pipe = refiner.view("img2img")
        pipe.scheduler = make_scheduler(
            refiner.base_scheduler_config, few.sampler, few.scheduler_overrides
        )
        stream.attach(pipe.scheduler)
        text: dict[str, Any] = dict(
            prompt=request.prompt, negative_prompt=request.negative_prompt or None
        )
        if own_encoding(request):
            text = weighted(pipe, request, extras.get("embeddings", ()))
        return pipe(
            **text,
            image=latents,
            num_inference_steps=request.num_inference_steps,
            denoising_start=request.refiner_switch,
            guidance_scale=few.guidance_scale,
            generator=kwargs["generator"],
            output_type="np",
            callback_on_step_end=stream.callback,
            callback_on_step_end_tensor_inputs=["latents"],
        ).images

    def _draft(self, request, loaded, stream, scheduler, seconds, plan, few, extras):
        preview = stream.last_preview
        if preview is None or preview.image is None:
            return None
        image = upscale(np.asarray(preview.image), request.width, request.height)
        image = plan.finish(image, request)
        recipe = self._recipe(request, loaded, scheduler, stream, seconds, True, plan, few, extras)
        size = (request.width, request.height)
        record = stream.recorder.record(stream.total, *size, request.sampler)
        return GenerationResult(
            image, request, recipe, True, stream.steps_done, seconds, (), record, stream.resume
        )

    def _recipe(self, request, loaded, scheduler, stream, seconds, draft, plan, few, extras):
        recipe = request.describe()
        recipe.update(
            model_name=loaded.info.name,
            model_family=loaded.info.family,
            model_variant=loaded.info.variant,
            scheduler=type(scheduler).__name__,
            scheduler_config=dict(scheduler.config),
            device=loaded.device,
            dtype=loaded.dtype,
            steps_done=stream.steps_done,
            draft=draft,
            seconds=round(seconds, 3),
            versions=versions(),
            few_step=few.kind,
            guidance_scale_used=few.guidance_scale,
            pipeline=type(plan.pipe).__name__,
            precision=recipe_note(
                request.dtype, loaded.device, family_for_model(request.model_path)
            ),
            **plan.notes,
            **exact_fields(request, loaded.device, loaded.dtype),
        )
        decoder = extras.get("decoder")
        if decoder is not None:
            recipe["previews"] = {
                "decoder": request.preview_decoder,
                "decodes": decoder.decodes,
                "downscaled": decoder.downscaled,
                "skipped": decoder.skipped,
            }
        return recipe


def _networks(pipe, refiner) -> list:
    """The networks a run calls: UNet, ControlNet and VAE, the refiner's UNet and VAE."""
    found = [getattr(pipe, name, None) for name in ("unet", "controlnet", "vae")]
    if refiner is not None:
        found += [refiner.txt2img.unet, refiner.txt2img.vae]
    return [net for net in found if net is not None]
