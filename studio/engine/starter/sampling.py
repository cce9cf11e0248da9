"""The starter diffusion's denoising loop: label map + style id -> 128² pictures, step by step."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from studio.engine.errors import InvalidRequestError
from studio.engine.starter.model import LoadedStarter, StarterConfig

# on_step(step index 0.., total steps, predicted clean picture HxWx3 uint8 of the first sample)
StepCallback = Callable[[int, int, np.ndarray], None]


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
) -> np.ndarray:
    """Denoise from noise to BxHxWx3 uint8 pictures at the native size.

    onehot: [B,25,H,W] label fractions (labels_to_onehot per picture) or None for no label map.
    style_ids: B style ids (vocab.style_id; 0 = no style). Classifier-free guidance batches the
    unconditional input (zero label map and style 0) with the conditional one; guidance_scale 1
    skips it. on_step gets the predicted clean picture (x0) of the first sample after every step.
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
    total = len(scheduler.timesteps)
    with torch.inference_mode():
        for i, t in enumerate(scheduler.timesteps):
            x_in = torch.cat([x, x]) if guided else x
            x_in = scheduler.scale_model_input(x_in, t)
            net_in = torch.cat([x_in.to(dtype), cond], dim=1)
            v = unet(net_in, t, class_labels=styles).sample.float()  # [B(*2),12,h,w]
            if guided:
                v_uncond, v_cond = v.chunk(2)
                v = v_uncond + scale * (v_cond - v_uncond)
            if on_step is not None:
                x0 = predicted_x0(cfg, x, v, alphas[int(t)])
                on_step(i, total, to_uint8(unfold(x0[:1], cfg.pixel_shuffle))[0])
            x = scheduler.step(v, t, x).prev_sample
    return to_uint8(unfold(x, cfg.pixel_shuffle))
