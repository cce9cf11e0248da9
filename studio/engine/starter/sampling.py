"""The starter diffusion's denoising loop: label map + style id -> 128² pictures, step by step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from studio.engine.starter.model import LoadedStarter, StarterConfig
from studio.errors import InvalidRequestError

# on_step(step index 0.., total steps, predicted clean picture HxWx3 uint8 of the first sample)
StepCallback = Callable[[int, int, np.ndarray], None]
# on_state(scheduler, timestep, x_t after the step, x0 the step predicted): the first sample's
# [1,3,H,W] float pixels in -1..1, for recording; called after each step, before on_step
StateCallback = Callable[[Any, Any, Any, Any], None]


def make_scheduler(cfg: StarterConfig):
    """A fresh diffusers scheduler for `cfg` (DPM-Solver++ 2M or DDIM, trailing timesteps)."""
    common = {
        "num_train_timesteps": cfg.num_train_timesteps,
        "beta_schedule": cfg.beta_schedule,
        "prediction_type": cfg.prediction_type,
        "timestep_spacing": "trailing",  # the first step starts from pure noise (t = T-1)
    }
    if cfg.scheduler == "ddim":
        from diffusers import DDIMScheduler

        return DDIMScheduler(clip_sample=False, set_alpha_to_one=True, **common)
    if cfg.scheduler == "dpmsolver++":
        from diffusers import DPMSolverMultistepScheduler

        return DPMSolverMultistepScheduler(
            algorithm_type="dpmsolver++", solver_order=2, final_sigmas_type="zero", **common
        )
    raise InvalidRequestError(f"The starter does not know the scheduler {cfg.scheduler!r}.")


def fold(images, factor: int):
    """[B,3,H,W] -> [B,3*f²,H/f,W/f] (space-to-depth)."""
    import torch.nn.functional as F

    return F.pixel_unshuffle(images, factor) if factor > 1 else images


def unfold(folded, factor: int):
    """Inverse of fold: [B,3*f²,h,w] -> [B,3,h*f,w*f]."""
    import torch.nn.functional as F

    return F.pixel_shuffle(folded, factor) if factor > 1 else folded


def to_uint8(images) -> np.ndarray:
    """[B,3,H,W] in -1..1 -> BxHxWx3 uint8."""
    import torch

    pixels = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return pixels.permute(0, 2, 3, 1).cpu().numpy()


def predicted_x0(cfg: StarterConfig, x, out, alpha_bar):
    """The clean sample the network's output implies at a step with cumulative alpha alpha_bar."""
    a, s = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    if cfg.prediction_type == "v_prediction":
        return a * x - s * out
    if cfg.prediction_type == "epsilon":
        return (x - s * out) / a
    return out  # "sample"


def condition_maps(cfg: StarterConfig, onehot, batch: int):
    """[B,25,H,W] one-hot (any H,W) or None -> [B,25,h,w] at the UNet's resolution."""
    import torch
    import torch.nn.functional as F

    size = cfg.unet_size
    if onehot is None:
        return torch.zeros(batch, cfg.label_channels, size, size)
    onehot = torch.as_tensor(onehot, dtype=torch.float32)
    if onehot.ndim != 4 or onehot.shape[:2] != (batch, cfg.label_channels):
        raise InvalidRequestError(
            f"The label input must be [{batch},{cfg.label_channels},H,W]; "
            f"got {tuple(onehot.shape)}."
        )
    if onehot.shape[2:] != (size, size):
        onehot = F.interpolate(onehot, size=(size, size), mode="area")
    return onehot


def sample(
    loaded: LoadedStarter,
    onehot,
    style_ids: Sequence[int],
    num_inference_steps: int = 20,
    guidance_scale: float | None = None,
    generator=None,
    on_step: StepCallback | None = None,
    init_image=None,
    known_mask=None,
    strength: float = 1.0,
    on_state: StateCallback | None = None,
) -> np.ndarray:
    """Denoise from noise to BxHxWx3 uint8 pictures at the native size.

    onehot: [B,25,H,W] label fractions (labels_to_onehot per picture) or None for no label map.
    style_ids: B style ids (vocab.style_id; 0 = no style). Classifier-free guidance batches the
    unconditional input (zero label map and style 0) with the conditional one; guidance_scale 1
    skips it. on_step gets the predicted clean picture (x0) of the first sample after every step.
    init_image: [1|B,3,H,W] in -1..1 at the native size: img2img from it with `strength` (the
    last strength share of the schedule runs). known_mask: [1|B,1,H,W], 1 = keep: RePaint-style
    inpainting, the kept region replaced by the noised original after every step.
    on_state gets the scheduler and the first sample's state after every step (StateCallback).
    """
    import torch

    cfg, unet = loaded.cfg, loaded.unet
    if num_inference_steps < 1:
        raise InvalidRequestError(f"Steps must be at least 1 (got {num_inference_steps}).")
    scale = cfg.default_guidance_scale if guidance_scale is None else float(guidance_scale)
    batch = len(style_ids)
    if not all(0 <= int(s) < cfg.num_styles for s in style_ids) or batch < 1:
        raise InvalidRequestError(f"Style ids must be 0..{cfg.num_styles - 1}; got {style_ids}.")
    device, dtype = loaded.device, loaded.dtype
    cond = condition_maps(cfg, onehot, batch).to(device, dtype)
    styles = torch.as_tensor(list(style_ids), dtype=torch.long, device=device)
    guided = scale != 1.0
    if guided:  # one batched pass: first half unconditional, second half conditional
        cond = torch.cat([torch.zeros_like(cond), cond])
        styles = torch.cat([torch.zeros_like(styles), styles])

    scheduler = make_scheduler(cfg)
    scheduler.set_timesteps(num_inference_steps, device=device)
    shape = (batch, cfg.image_channels, cfg.unet_size, cfg.unet_size)
    x = torch.randn(shape, generator=generator, dtype=torch.float32).to(device)
    x = x * scheduler.init_noise_sigma
    alphas = scheduler.alphas_cumprod.to(device=device, dtype=torch.float32)
    timesteps = scheduler.timesteps
    known, keep = _known(cfg, init_image, known_mask, batch, device)
    if known is not None and strength < 1.0:
        run = max(1, min(num_inference_steps, int(round(num_inference_steps * strength))))
        begin = num_inference_steps - run
        timesteps = timesteps[begin:]
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(begin)
        x = _noised(known, x, alphas, int(timesteps[0]))
    total = len(timesteps)
    with torch.inference_mode():
        for i, t in enumerate(timesteps):
            x_in = torch.cat([x, x]) if guided else x
            x_in = scheduler.scale_model_input(x_in, t)
            net_in = torch.cat([x_in.to(dtype), cond], dim=1)
            v = unet(net_in, t, class_labels=styles).sample.float()  # [B(*2),12,h,w]
            if guided:
                v_uncond, v_cond = v.chunk(2)
                v = v_uncond + scale * (v_cond - v_uncond)
            watched = on_step is not None or on_state is not None
            if watched:
                x0 = predicted_x0(cfg, x, v, alphas[int(t)])
                if keep is not None:
                    x0 = keep * known + (1 - keep) * x0
            x = scheduler.step(v, t, x).prev_sample
            if keep is not None:  # RePaint: the known region follows the original, re-noised
                noise = torch.randn(shape, generator=generator, dtype=torch.float32).to(device)
                if i + 1 < total:
                    x = keep * _noised(known, noise, alphas, int(timesteps[i + 1])) + (1 - keep) * x
                else:
                    x = keep * known + (1 - keep) * x
            if watched:
                pixels = unfold(x0[:1], cfg.pixel_shuffle)
                if on_state is not None:
                    on_state(scheduler, t, unfold(x[:1], cfg.pixel_shuffle), pixels)
                if on_step is not None:
                    on_step(i, total, to_uint8(pixels)[0])
    return to_uint8(unfold(x, cfg.pixel_shuffle))


def _known(cfg: StarterConfig, init_image, known_mask, batch: int, device):
    """Folded init picture [B,12,h,w] and keep-mask [B,1,h,w] (area fractions), or Nones."""
    import torch
    import torch.nn.functional as F

    if init_image is None:
        return None, None
    size = cfg.native_size
    init = torch.as_tensor(init_image, dtype=torch.float32)
    if init.ndim != 4 or init.shape[1] != 3 or tuple(init.shape[2:]) != (size, size):
        raise InvalidRequestError(
            f"The starting picture must be [B,3,{size},{size}]; got {tuple(init.shape)}."
        )
    known = fold(init, cfg.pixel_shuffle).expand(batch, -1, -1, -1).to(device)
    if known_mask is None:
        return known, None
    mask = torch.as_tensor(known_mask, dtype=torch.float32)
    if mask.ndim != 4 or tuple(mask.shape[1:]) != (1, size, size):
        raise InvalidRequestError(f"The mask must be [B,1,{size},{size}]; got {tuple(mask.shape)}.")
    keep = F.interpolate(mask, size=(cfg.unet_size, cfg.unet_size), mode="area")
    return known, keep.expand(batch, -1, -1, -1).to(device)


def _noised(clean, noise, alphas, t: int):
    """The forward process at timestep t: sqrt(a)*clean + sqrt(1-a)*noise."""
    a = alphas[t]
    return a.sqrt() * clean + (1 - a).sqrt() * noise
