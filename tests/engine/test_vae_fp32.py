"""A float16 VAE decode that overflows to NaN (the SDXL black picture) is redone in float32."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from studio.engine.diffusion.engine import DiffusionEngine
from studio.engine.requests import GenerationRequest
from studio.errors import StudioError


def half_job(path, **kw) -> GenerationRequest:
    args = dict(
        model_path=str(path), prompt="snowy peaks", num_inference_steps=3, guidance_scale=5.0,
        seed=11, width=64, height=64, sampler="Euler", device="cpu", dtype="float16",
    )  # fmt: skip
    args.update(kw)
    return GenerationRequest(**args)


def run(engine, request):
    return engine.run(request, lambda p: None, threading.Event())


@pytest.fixture
def half(tiny_sd_path):
    engine = DiffusionEngine()
    return engine, engine.cache.get(str(tiny_sd_path), "cpu", "float16")


def overflow_in_half(decoder, monkeypatch):
    """The decoder's half-precision path gives NaN/inf (as SDXL's VAE does in fp16)."""
    forward = decoder.forward
    seen = []

    def patched(z, *args, **kwargs):
        out = forward(z, *args, **kwargs)
        seen.append(z.dtype)
        if z.dtype.itemsize == 2:
            out = out * float("nan")
            out[..., 0, 0] = float("inf")
        return out

    monkeypatch.setattr(decoder, "forward", patched)
    return seen


def test_nan_from_a_half_precision_decode_is_decoded_again_in_float32(
    half, tiny_sd_path, monkeypatch
):
    import torch

    engine, loaded = half
    plain = run(engine, half_job(tiny_sd_path))
    vae = loaded.txt2img.vae
    seen = overflow_in_half(vae.decoder, monkeypatch)
    fixed = run(engine, half_job(tiny_sd_path))

    assert seen == [torch.float16, torch.float32]  # the half decode, then the fp32 one
    assert "decoded again in float32" in fixed.recipe["vae_fp32"]
    assert "vae_fp32" not in plain.recipe
    assert fixed.image.max() > 0 and fixed.image.std() > 1  # not the black picture
    # the same picture as the (finite) fp16 decode, up to fp16 rounding
    diff = np.abs(fixed.image.astype(int) - plain.image.astype(int))
    assert diff.max() <= 3, diff.max()
    assert vae.dtype == torch.float16 and "decode" not in vars(vae)  # put back for the next job
    monkeypatch.undo()
    np.testing.assert_array_equal(run(engine, half_job(tiny_sd_path)).image, plain.image)


def test_nan_latents_are_reported_not_landed_as_a_black_picture(half, tiny_sd_path, monkeypatch):
    engine, loaded = half
    unet = loaded.txt2img.unet
    forward = unet.forward

    def nan_unet(*args, **kwargs):
        out = forward(*args, **kwargs)
        (out[0] if isinstance(out, tuple) else out.sample).fill_(float("nan"))
        return out

    monkeypatch.setattr(unet, "forward", nan_unet)
    with pytest.raises(StudioError, match="Choose float32 in Preferences") as info:
        run(engine, half_job(tiny_sd_path))
    assert "NaN" in info.value.message


def test_sdxl_fp16_vae_without_upcast_is_redecoded(tiny_models, tmp_path, monkeypatch):
    """SDXL pipelines decode in fp16 when the VAE config says force_upcast false (fp16-fix
    VAEs, many fine-tunes); an overflow there is caught the same way."""
    import json
    import shutil

    import torch

    folder = tmp_path / "sdxl-fp16-vae"
    shutil.copytree(tiny_models.folder("sdxl"), folder)
    config = folder / "vae" / "config.json"
    config.write_text(json.dumps(dict(json.loads(config.read_text()), force_upcast=False)))
    engine = DiffusionEngine()
    vae = engine.cache.get(str(folder), "cpu", "float16").txt2img.vae
    seen = overflow_in_half(vae.decoder, monkeypatch)
    result = run(engine, half_job(folder))
    assert seen == [torch.float16, torch.float32]
    assert result.recipe["vae_fp32"] and result.image.std() > 1
