"""Out of memory mid-job: tensors freed, one safer retry, then the next job runs normally."""

from __future__ import annotations

import gc
import threading
import weakref
from dataclasses import replace

import numpy as np
import pytest

from studio.engine.diffusion.engine import DiffusionEngine
from studio.engine.memory.presets import MemoryPlan
from studio.engine.memory.retry import retry_for
from studio.engine.requests import GenerationRequest, MemorySettings
from studio.errors import OutOfMemoryError

CPU_OOM = "DefaultCPUAllocator: can't allocate memory: you tried to allocate 9663676416 bytes."


def job(path, **kw) -> GenerationRequest:
    args = dict(
        model_path=str(path), prompt="a harbour at dusk", num_inference_steps=3,
        guidance_scale=6.0, seed=77, width=128, height=128, sampler="Euler", device="cpu",
        dtype="float32", batch_size=2, memory=MemorySettings(preset="fast"),
    )  # fmt: skip
    args.update(kw)
    return GenerationRequest(**args)


def run(engine, request):
    return engine.run(request, lambda p: None, threading.Event())


class FailingUNet:
    """Wraps a UNet's forward: raises `error` on call number `at` (`times` times), and keeps a
    weak reference to the latents it was given, to check nothing pins them afterwards."""

    def __init__(self, unet, error: Exception, at: int = 3, times: int = 1) -> None:
        self.forward, self.error, self.at, self.times = unet.forward, error, at, times
        self.calls = 0
        self.failed: list[weakref.ref] = []

    def __call__(self, sample, *args, **kwargs):
        self.calls += 1
        if self.calls >= self.at and len(self.failed) < self.times:
            self.failed.append(weakref.ref(sample))
            raise type(self.error)(*self.error.args)  # a new one: a raised error keeps frames
        return self.forward(sample, *args, **kwargs)


@pytest.fixture
def engine_and_vae(tiny_sd_path, monkeypatch):
    engine = DiffusionEngine()
    loaded = engine.cache.get(str(tiny_sd_path), "cpu", "float32")
    vae = loaded.txt2img.vae
    tiled = []
    original = vae.tiled_decode
    monkeypatch.setattr(vae, "tiled_decode", lambda *a, **k: tiled.append(1) or original(*a, **k))
    return engine, loaded, tiled


def test_cpu_allocation_failure_is_retried_once_with_the_allowed_safer_settings(
    engine_and_vae, tiny_sd_path, monkeypatch
):
    engine, loaded, tiled = engine_and_vae
    failing = FailingUNet(loaded.txt2img.unet, RuntimeError(CPU_OOM), at=3)
    monkeypatch.setattr(loaded.txt2img.unet, "forward", failing)
    request = job(tiny_sd_path)
    result = run(engine, request)

    assert result.recipe["memory_retry"] == (
        "Ran out of memory; retried with tiled VAE and a batch of 1."
    )
    assert result.request.batch_size == 1 and result.request.batch_count == 2
    assert len(result.images) == 2 and result.recipe["seeds"] == [77, 78]  # the same images
    assert "tiled VAE" in result.recipe["memory_plan"] and tiled  # really decoded in tiles
    gc.collect()
    assert failing.failed and failing.failed[0]() is None  # the failed step's latents freed

    # the retry is exactly the changed job run normally
    monkeypatch.setattr(loaded.txt2img.unet, "forward", failing.forward)
    same = run(engine, result.request)
    assert "memory_retry" not in same.recipe
    for a, b in zip(result.images, same.images, strict=True):
        np.testing.assert_array_equal(a, b)

    # the next job uses its own (normal) settings again
    tiled.clear()
    nxt = run(engine, request)
    assert "memory_retry" not in nxt.recipe and "memory_plan" not in nxt.recipe
    assert nxt.request.batch_size == 2 and len(nxt.images) == 2 and not tiled
    assert not loaded.txt2img.vae.use_tiling and not loaded.txt2img.vae.use_slicing


def test_no_retry_when_the_artist_allows_none(engine_and_vae, tiny_sd_path, monkeypatch):
    engine, loaded, _ = engine_and_vae
    failing = FailingUNet(loaded.txt2img.unet, RuntimeError(CPU_OOM), at=3)
    monkeypatch.setattr(loaded.txt2img.unet, "forward", failing)
    request = job(tiny_sd_path, memory=MemorySettings(preset="fast", oom_retry=False))
    with pytest.raises(OutOfMemoryError, match="ran out of memory at 128x128") as info:
        run(engine, request)
    assert "Preferences" in info.value.message and "can't allocate" in info.value.details
    assert failing.calls == 3  # stopped at the failure, not run again


def test_a_second_out_of_memory_ends_the_job_in_plain_words(
    engine_and_vae, tiny_sd_path, monkeypatch
):
    import torch

    engine, loaded, _ = engine_and_vae
    error = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    failing = FailingUNet(loaded.txt2img.unet, error, at=2, times=2)
    monkeypatch.setattr(loaded.txt2img.unet, "forward", failing)
    with pytest.raises(OutOfMemoryError, match="and again after retrying with tiled VAE and a "
                       "batch of 1") as info:  # fmt: skip
        run(engine, job(tiny_sd_path))
    assert "First attempt" in info.value.details and "Retry" in info.value.details
    monkeypatch.setattr(loaded.txt2img.unet, "forward", failing.forward)
    assert run(engine, job(tiny_sd_path)).recipe.get("memory_retry") is None


def test_retry_uses_only_what_is_allowed_and_offload_only_on_a_gpu(tiny_sd_path):
    request = job(tiny_sd_path, memory=MemorySettings(retry_with=("batch",)))
    retry = retry_for(request, MemoryPlan(), "cpu")
    assert retry.changes == ("a batch of 1",) and not retry.plan.vae_tiling
    gpu = retry_for(job(tiny_sd_path), MemoryPlan(), "cuda")
    assert gpu.changes == ("tiled VAE", "a batch of 1", "model CPU offload")
    assert gpu.request.memory.offload == "model" and gpu.request.memory.vae_tiling
    assert retry_for(replace(request, batch_size=1), MemoryPlan(), "cpu") is None
    safest = MemoryPlan(vae_tiling=True, vae_slicing=True)
    assert retry_for(job(tiny_sd_path, batch_size=1), safest, "cpu") is None
