"""Tiny preview decoders (TAESD): load either layout, decode x0 on the step stream, governed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.models.registry import inspect_folder
from studio.errors import InvalidRequestError, ModelLoadError

PREVIEW_BUDGET = 0.05  # previews may cost at most 5 % of the denoising time


def original_decoder_to_diffusers(state: dict[str, Any]) -> dict[str, Any]:
    """madebyollin's taesd_decoder.pth keys (Sequential index i, 0 = clamp) -> AutoencoderTiny."""
    out = {}
    for key, value in state.items():
        index, _, rest = key.partition(".")
        out[f"decoder.layers.{int(index) - 1}.{rest}"] = value
    return out


def load_taesd(path: str, device: str, dtype: str) -> Any:
    """An AutoencoderTiny (decoder usable) from a diffusers folder or a TAESD weight file."""
    from diffusers import AutoencoderTiny

    from studio.engine.diffusion.loading import torch_dtype
    from studio.engine.models.checkpoints import load_state_dict

    info = inspect_folder(Path(path))
    if info.kind != "taesd" or not info.usable:
        raise InvalidRequestError(
            f"{info.name} is not a TAESD preview decoder.", info.problem or ""
        )
    try:
        if info.format == "diffusers":
            model = AutoencoderTiny.from_pretrained(info.path, local_files_only=True)
        else:
            state = load_state_dict(Path(info.path))
            if not any(k.startswith("decoder.") for k in state):
                if info.variant != "decoder":
                    raise ModelLoadError(f"{info.name} holds a TAESD encoder, not a decoder.")
                state = original_decoder_to_diffusers(state)
            model = AutoencoderTiny()
            decoder = {k: v for k, v in state.items() if k.startswith("decoder.")}
            missing, unexpected = model.load_state_dict(decoder, strict=False)
            if unexpected or any(k.startswith("decoder.") for k in missing):
                raise ModelLoadError(f"{info.name} does not match the TAESD layout.")
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"Could not load the preview decoder {info.name}.", str(exc)) from exc
    return model.to(device, torch_dtype(dtype)).eval()


class GovernedDecoder:
    """Decodes x0 (TAESD, or the full VAE on request) only as often and as large as keeps
    preview time under 5 % of denoising time: smaller previews first, then skipped steps."""

    SCALES = (1, 2, 4)  # latent downscale factors tried in order

    def __init__(self, model: Any, latent_scale: float = 1.0) -> None:
        self.model = model
        self.latent_scale = latent_scale  # 1 for TAESD; 1/scaling_factor for the full VAE
        self.decode_seconds = 0.0  # time spent decoding so far
        self.decoded_pixels = 0  # latent pixels decoded so far
        self.decodes = 0
        self.skipped = 0
        self.downscaled = 0

    def scale_for(self, denoise_seconds: float, latent_pixels: int) -> int | None:
        """The downscale factor that keeps the total within budget, or None to skip."""
        if self.decodes == 0:
            return 1
        per_pixel = self.decode_seconds / max(self.decoded_pixels, 1)
        for scale in self.SCALES:
            cost = per_pixel * latent_pixels / scale**2
            if self.decode_seconds + cost <= PREVIEW_BUDGET * denoise_seconds:
                return scale
        return None

    def allowed(self, denoise_seconds: float, latent_pixels: int = 1) -> bool:
        return self.scale_for(denoise_seconds, latent_pixels) is not None

    def __call__(self, x0, scale: int = 1) -> np.ndarray:
        """One latent CxHxW (torch, model space) -> HxWx3 uint8 (image size / scale)."""
        import torch

        started = time.perf_counter()
        with torch.inference_mode():
            latent = x0[None].to(self.model.device, self.model.dtype) * self.latent_scale
            if scale > 1:
                latent = torch.nn.functional.interpolate(
                    latent.float(), scale_factor=1 / scale, mode="bilinear", antialias=True
                ).to(self.model.dtype)
                self.downscaled += 1
            image = self.model.decode(latent).sample[0]  # 3xHxW in [-1, 1]
        rgb = ((image.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0)
        out = rgb.cpu().numpy()
        self.decode_seconds += time.perf_counter() - started
        self.decoded_pixels += int(latent.shape[-1] * latent.shape[-2])
        self.decodes += 1
        return out
