"""Tiny preview decoders (TAESD): load either layout, decode x0 on the step stream, governed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.errors import InvalidRequestError, ModelLoadError
from studio.engine.registry import inspect_folder

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

    from studio.engine.checkpoints import load_state_dict
    from studio.engine.loading import torch_dtype

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
    """Decodes x0 with TAESD only as often as keeps preview time under 5 % of step time."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.decode_seconds = 0.0  # time spent decoding so far
        self.decodes = 0
        self.skipped = 0

    def allowed(self, denoise_seconds: float) -> bool:
        """Decode now only if the total stays within budget including this decode's cost."""
        if self.decodes == 0:
            return True
        per_decode = self.decode_seconds / self.decodes
        return self.decode_seconds + per_decode <= PREVIEW_BUDGET * denoise_seconds

    def __call__(self, x0) -> np.ndarray:
        """One latent CxHxW (torch, model space) -> HxWx3 uint8 at full image size."""
        import torch

        started = time.perf_counter()
        with torch.inference_mode():
            latent = x0[None].to(self.model.device, self.model.dtype)
            image = self.model.decode(latent).sample[0]  # 3xHxW in [-1, 1]
        rgb = ((image.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0)
        out = rgb.cpu().numpy()
        self.decode_seconds += time.perf_counter() - started
        self.decodes += 1
        return out
