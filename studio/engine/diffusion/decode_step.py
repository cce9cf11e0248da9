"""Decode a recorded step's predicted image with the full VAE or a tiny decoder (on request)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from studio.engine.diffusion.previews import upscale
from studio.engine.diffusion.taesd import GovernedDecoder, load_taesd
from studio.engine.memory.device import choose_device, choose_dtype
from studio.engine.memory.precision import family_for_model
from studio.engine.requests import DecodeRequest, DecodeResult
from studio.errors import InvalidRequestError


def decode_step(cache: Any, request: DecodeRequest) -> DecodeResult:
    """Load (or reuse) the model's VAE or the TAESD and decode the latent."""
    import torch

    started = time.perf_counter()
    device = choose_device(request.device)
    dtype = choose_dtype(device, request.dtype, family_for_model(request.model_path))
    if request.decoder:
        model = cache.component(
            ("taesd", request.decoder, device, dtype),
            lambda: load_taesd(request.decoder, device, dtype),
        )
        decoder = GovernedDecoder(model)
    else:
        vae = cache.get(request.model_path, device, dtype).txt2img.vae
        decoder = GovernedDecoder(vae, 1.0 / vae.config.scaling_factor)
        channels = vae.config.latent_channels
        if request.latent.shape[0] != channels:
            raise InvalidRequestError(
                f"The recorded step has {request.latent.shape[0]} latent channels but this "
                f"model's VAE takes {channels}."
            )
    latent = torch.from_numpy(np.array(request.latent, dtype=np.float32))
    image = upscale(decoder(latent), request.width, request.height)
    return DecodeResult(image, request, time.perf_counter() - started)
