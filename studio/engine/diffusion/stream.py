"""Turns scheduler steps into streamed previews: x0 capture, visible-step counting, cancel."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from studio.engine.diffusion.previews import latent_to_rgb
from studio.engine.requests import StepPreview
from studio.errors import Cancelled


def _x0_from_alphas(scheduler: Any, model_output, timestep, sample):
    """x0 for DDPM-style schedulers that do not return it (PLMS): from alphas_cumprod."""
    alphas = getattr(scheduler, "alphas_cumprod", None)
    if alphas is None:
        return None
    t = int(timestep)
    if not 0 <= t < len(alphas):
        return None
    a = alphas[t].to(sample.device, sample.dtype)
    kind = scheduler.config.get("prediction_type", "epsilon")
    if kind == "epsilon":
        return (sample - (1 - a).sqrt() * model_output) / a.sqrt()
    if kind == "v_prediction":
        return a.sqrt() * sample - (1 - a).sqrt() * model_output
    return model_output


def predicted_x0(scheduler: Any, out: Any, model_output, timestep, sample):
    """The scheduler's predicted clean latent for this step, however it exposes it."""
    if isinstance(out, tuple) and len(out) > 1:
        return out[1]  # pred_original_sample (Euler, DDIM, LMS, DDPM, Heun) or denoised (LCM)
    for name in ("pred_original_sample", "denoised"):
        value = getattr(out, name, None)
        if value is not None:
            return value
    outputs = getattr(scheduler, "model_outputs", None)
    if outputs and outputs[-1] is not None:
        return outputs[-1]  # DPM-Solver++ / UniPC keep the converted x0 prediction here
    return _x0_from_alphas(scheduler, model_output, timestep, sample)


def completed_visible_step(scheduler: Any, is_last: bool) -> bool:
    """Count only finished steps: Heun calls step twice per step, PLMS warms up with one extra."""
    if is_last:
        return True
    if hasattr(scheduler, "ets") and getattr(scheduler, "counter", None) == 1:
        return False  # PLMS: the first call is redone by the second with a better estimate
    if getattr(scheduler, "order", 1) == 1 or not hasattr(scheduler, "state_in_first_order"):
        return True
    return bool(scheduler.state_in_first_order)


class StepStream:
    """Wraps one run's scheduler; its `callback` goes to `callback_on_step_end`."""

    def __init__(
        self,
        scheduler: Any,
        family: str,
        total: int,
        on_step: Callable[[StepPreview], None],
        cancel: threading.Event,
        decoder: Any = None,
        recorder: Any = None,
    ) -> None:
        self.recorder = recorder  # a StepRecorder, or None
        self.capture_resume: Callable[[int, Any], Any] | None = None  # (loop index, latents)
        self.resume = None  # ResumeState after the last finished loop iteration
        self.decoder = decoder  # a GovernedDecoder (TAESD) or None for linear previews
        self.preview_seconds = 0.0
        self.scheduler = scheduler
        self.family = family
        self.total = total
        self.on_step = on_step
        self.cancel = cancel
        self.steps_done = 0
        self.last_preview: StepPreview | None = None
        self.started = time.perf_counter()
        self._x0 = None
        self.attach(scheduler)

    def attach(self, scheduler: Any) -> None:
        """Stream the steps of (another) scheduler, e.g. the refiner's, continuing the count."""
        self.scheduler = scheduler
        original = scheduler.step

        # functools.wraps keeps the signature visible: pipelines inspect it to decide whether
        # to pass `generator` and `eta`; hiding them would make ancestral samplers unseeded.
        @functools.wraps(original)
        def step(model_output, timestep, sample, *args, **kwargs):
            out = original(model_output, timestep, sample, *args, **kwargs)
            self._x0 = predicted_x0(scheduler, out, model_output, timestep, sample)
            if self.recorder is not None:
                self.recorder.step_called(scheduler, timestep)
            return out

        scheduler.step = step  # instance attribute shadows the bound method

    def _preview(self):
        """Batch item 0's x0 as RGB: TAESD when the governor allows, else the linear map."""
        if self._x0 is None:
            return None
        started = time.perf_counter()
        x0 = self._x0[0].detach()  # CxHxW
        denoising = started - self.started - self.preview_seconds
        scale = None
        if self.decoder is not None:
            scale = self.decoder.scale_for(denoising, int(x0.shape[-1] * x0.shape[-2]))
        if scale is not None:
            image = self.decoder(x0, scale)
        else:
            if self.decoder is not None:
                self.decoder.skipped += 1
            image = latent_to_rgb(x0.float().cpu().numpy(), self.family)
        self.preview_seconds += time.perf_counter() - started
        return image

    def callback(self, pipe: Any, i: int, t: Any, tensors: dict) -> dict:
        is_last = i == getattr(pipe, "_num_timesteps", 0) - 1
        if completed_visible_step(self.scheduler, is_last):
            self.steps_done += 1
            if self.recorder is not None and "latents" in tensors:
                self.recorder.step_done(
                    self.scheduler, tensors["latents"], self._x0, self.steps_done
                )
            image = self._preview()
            preview = StepPreview(
                step=self.steps_done,
                total=self.total,
                image=image,
                elapsed=time.perf_counter() - self.started,
                record=None if self.recorder is None else self.recorder.live(),
            )
            self.last_preview = preview
            self.on_step(preview)
        if self.capture_resume is not None and "latents" in tensors:
            # every iteration: a cancel inside the next one continues exactly from here
            self.resume = self.capture_resume(i, tensors["latents"])
        if self.cancel.is_set():
            raise Cancelled()
        return {}
