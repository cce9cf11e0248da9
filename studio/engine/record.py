"""Per-step recording of a run: x_t, x0, the noise removed, timestep, sigma and step time."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from studio.engine.requests import RunRecord, StepFrame

DEFAULT_CAP_BYTES = 256 * 2**20  # full-size frames of one run; thumbnails are not counted
THUMB_SIDE = 48  # long side of the thumbnails kept for every step


def thumbnail(image: np.ndarray, side: int = THUMB_SIDE) -> np.ndarray:
    """HxWx3 uint8 -> at most side px on the long side (area average, never enlarged)."""
    from PIL import Image

    h, w = image.shape[:2]
    scale = min(1.0, side / max(h, w))
    if scale >= 1.0:
        return np.array(image)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize(size, Image.BOX))


def _sigma_of(scheduler: Any, timestep: float) -> float:
    """Noise level sqrt((1 - a) / a) of a DDPM-style timestep (no sigmas table)."""
    alphas = getattr(scheduler, "alphas_cumprod", None)
    if alphas is None:
        return float("nan")
    t = int(round(float(timestep)))
    if t < 0:
        a = float(getattr(scheduler, "final_alpha_cumprod", 1.0))
    else:
        a = float(alphas[min(t, len(alphas) - 1)])
    return math.sqrt(max(0.0, 1.0 - a) / a)


def _table_sigma(scheduler: Any, offset: int) -> float | None:
    """sigmas[step_index + offset] for schedulers keeping a sigma table, else None."""
    sigmas = getattr(scheduler, "sigmas", None)
    index = getattr(scheduler, "step_index", None)
    if sigmas is None or index is None:
        return None
    index += offset
    if not 0 <= index < len(sigmas):
        return 0.0
    return float(sigmas[index])


def _noise_image(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """What one step took away (before - after), per-channel mean luminance, contrast-stretched."""
    removed = (before - after).astype(np.float32)  # CxHxW
    grey = removed.mean(axis=0)
    spread = float(np.abs(grey).max()) or 1.0
    value = np.nan_to_num(grey / spread * 127.5 + 127.5, nan=127.5, posinf=255.0, neginf=0.0)
    value = np.clip(value, 0, 255).astype(np.uint8)
    return np.repeat(value[:, :, None], 3, axis=2)


def pixels_to_rgb(pixels: np.ndarray) -> np.ndarray:
    """3xHxW float pixels in -1..1 (a pixel-space model's state) -> HxWx3 uint8, rounded."""
    state = np.nan_to_num(pixels.astype(np.float32, copy=False), nan=-1.0, posinf=1.0, neginf=-1.0)
    rgb = (np.clip(state, -1.0, 1.0) + 1.0) * 127.5
    return np.round(rgb).astype(np.uint8).transpose(1, 2, 0)


class StepRecorder:
    """Collects one StepFrame per visible step; keeps full-size data within `cap_bytes`.

    Shared by every family that steps: `to_rgb` turns a CxHxW model-space state into HxWx3
    uint8 (a latent family passes its latent-to-RGB factors). Without it the model denoises RGB
    pixels in -1..1 (a pixel-space model such as the starter): x_t and x0 are shown as they
    are, and no latent is kept (x0 already is the exact picture).
    """

    def __init__(
        self,
        family: str,
        cap_bytes: int = DEFAULT_CAP_BYTES,
        to_rgb: Callable[[np.ndarray], np.ndarray] | None = None,
    ):
        self.family = family
        self.pixels = to_rgb is None
        self._latent_to_rgb = to_rgb
        self.cap_bytes = max(0, int(cap_bytes))
        self.frames: list[StepFrame] = []
        self.full_bytes = 0
        self.dropped = 0  # frames whose full-size data was dropped for the cap
        self._pending: tuple[float, float] | None = None  # (timestep, sigma) of the step begun
        self._last_xt: np.ndarray | None = None
        self._last_x0: np.ndarray | None = None
        self._last_time = time.perf_counter()
        self._shape: tuple[int, int, int, str] | None = None  # (total, width, height, sampler)

    def expect(self, total: int, width: int, height: int, sampler: str) -> None:
        """What the run will be, so `live` can describe the partial record at every step."""
        self._shape = (total, width, height, sampler)

    def live(self) -> RunRecord | None:
        """The record so far (a tuple snapshot of frozen frames), or None before `expect`."""
        return None if self._shape is None else self.record(*self._shape)

    def begin_run(self) -> None:
        """A new pipeline call of a batch: no difference to the previous run's last step."""
        self._pending = None
        self._last_xt = self._last_x0 = None
        self._last_time = time.perf_counter()

    def step_called(self, scheduler: Any, timestep: Any) -> None:
        """Called after every scheduler.step; remembers where a visible step began."""
        if self._pending is not None:
            return  # the second call of a Heun step or the PLMS redo: same visible step
        t = float(timestep)
        sigma = _table_sigma(scheduler, -1)
        self._pending = (t, _sigma_of(scheduler, t) if sigma is None else sigma)

    def _next_sigma(self, scheduler: Any, timestep: float) -> float:
        sigma = _table_sigma(scheduler, 0)
        if sigma is not None:
            return sigma
        ratio = scheduler.config.num_train_timesteps // max(1, scheduler.num_inference_steps)
        return _sigma_of(scheduler, timestep - ratio)

    def step_done(self, scheduler: Any, latents: Any, x0: Any, step: int) -> StepFrame:
        """Record the finished visible step; latents = x_t after the step (batch item 0)."""
        now = time.perf_counter()
        timestep, sigma = self._pending or (float("nan"), float("nan"))
        self._pending = None
        sigma_next = self._next_sigma(scheduler, timestep)
        xt = latents[0].detach().float().cpu().numpy()  # CxHxW
        x0_np = xt if x0 is None else x0[0].detach().float().cpu().numpy()
        scale = 1.0
        if float(getattr(scheduler, "init_noise_sigma", 1.0)) > 1.0:  # VE latents: x0 + sigma*eps
            scale = 1.0 / math.sqrt(sigma_next**2 + 1.0)
        xt_rgb, x0_rgb = self._to_rgb(xt * scale), self._to_rgb(x0_np)
        before = self._last_xt if self._last_xt is not None else xt
        change = 0.0
        if self._last_x0 is not None:
            change = float(np.abs(x0_np - self._last_x0).mean())
        frame = StepFrame(
            step=step,
            timestep=timestep,
            sigma=sigma,
            sigma_next=sigma_next,
            seconds=now - self._last_time,
            change=change,
            thumb_xt=thumbnail(xt_rgb),
            thumb_x0=thumbnail(x0_rgb),
            xt=xt_rgb,
            x0=x0_rgb,
            noise=_noise_image(before * scale, xt * scale),
            x0_latent=None if self.pixels else x0_np.astype(np.float16),
        )
        self._last_xt, self._last_x0, self._last_time = xt, x0_np, now
        self.frames.append(frame)
        self.full_bytes += frame.full_bytes
        self._enforce_cap()
        return frame

    def _to_rgb(self, state: np.ndarray) -> np.ndarray:
        """CxHxW model-space state -> HxWx3 uint8 at the state's resolution."""
        return pixels_to_rgb(state) if self._latent_to_rgb is None else self._latent_to_rgb(state)

    def _enforce_cap(self) -> None:
        """Drop full-size data of the oldest frames first until the cap holds."""
        index = 0
        while self.full_bytes > self.cap_bytes and index < len(self.frames):
            frame = self.frames[index]
            if frame.full_bytes:
                self.full_bytes -= frame.full_bytes
                self.frames[index] = replace(frame, xt=None, x0=None, noise=None, x0_latent=None)
                self.dropped += 1
            index += 1

    def record(self, total: int, width: int, height: int, sampler: str) -> RunRecord:
        """A frozen copy of what was recorded so far (frames are immutable)."""
        return RunRecord(
            frames=tuple(self.frames),
            total=total,
            width=width,
            height=height,
            sampler=sampler,
            family=self.family,
            cap_bytes=self.cap_bytes,
            dropped=self.dropped,
            space="pixels" if self.pixels else "latent",
        )
