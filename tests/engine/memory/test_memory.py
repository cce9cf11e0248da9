"""Memory estimates: weights from headers, activations against measured peak RSS on CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from studio.engine.memory.estimate import estimate
from studio.engine.memory.fit import check
from studio.engine.memory.presets import MemoryPlan, preset_by_memory, resolve
from studio.engine.models.shape import architecture, model_tensors
from studio.engine.requests import GenerationRequest, MemorySettings
from studio.engine.testing.scaffold import TinySpec

MIB = 2**20
# ~22 M parameters: UNet (64, 128, 256), VAE (32, 64, 128, 128), 4-layer 128-wide text encoder
MID_SPEC = TinySpec(
    unet_channels=(64, 128, 256), layers_per_block=2, cross_attention_dim=128,
    attention_head_dim=8, vae_channels=(32, 64, 128, 128), text_hidden=128, text_layers=4,
    sample_size=32,
)  # fmt: skip
# Tolerance: the estimate may be up to 20 % below and up to 60 % above the measured peak.
# Ratios seen: 1.48 (tiny 512²), 1.14 (mid 512²), 0.94 (mid 256² batch 2) on a quiet machine;
# the last read 0.84 once while two training runs loaded the machine (peak RSS is noisier
# than the estimate: allocator arenas and file-backed pages), hence -20 %, not -10 %.
LOW, HIGH = 0.8, 1.6


@pytest.fixture(scope="module")
def mid_model(tmp_path_factory) -> Path:
    from studio.engine.testing.scaffold import save_sd_folder

    return save_sd_folder(tmp_path_factory.mktemp("mid") / "mid", MID_SPEC)


@pytest.fixture(scope="module")
def warm_model(tmp_path_factory) -> Path:
    from studio.engine.testing.scaffold import save_sd_folder

    return save_sd_folder(tmp_path_factory.mktemp("warm") / "warm", TinySpec(), seed=5)


def _measure(warm: Path, jobs: list[str]) -> list[dict]:
    root = Path(__file__).resolve().parents[3]
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run(
        [sys.executable, "-m", "tests.engine.memory.memory_probe", str(warm), *jobs],
        capture_output=True, text=True, timeout=120, cwd=root, env=env, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_weights_from_headers_match_loaded_parameters(tiny_models):
    from studio.engine.diffusion.loading import load_sd_pipeline, module_bytes

    folder = tiny_models.folder("sd1")
    tensors = model_tensors(folder)
    loaded = load_sd_pipeline(str(folder), "cpu", "float32")
    # exact but for non-persistent buffers the files do not hold (CLIP position ids: 77 int64)
    read = sum(t.bytes_as(4) for t in tensors.values())
    assert module_bytes(loaded.txt2img) - read in (0, 77 * 8)
    half = estimate(GenerationRequest(str(folder), "x"), MemoryPlan(), "float16")
    full = estimate(GenerationRequest(str(folder), "x"), MemoryPlan(), "float32")
    assert full.weights > half.weights  # float tensors are cast to the run's dtype


def test_estimate_within_tolerance_of_measured_peak(tiny_models, mid_model, warm_model):
    """Tiny and mid-size models, one process: each job's peak RSS (load + run) vs estimate."""
    if not Path("/proc/self/clear_refs").exists():
        pytest.fail("peak RSS needs Linux /proc (clear_refs) to be measured")
    tiny = tiny_models.folder("sd1")
    jobs = [f"{tiny}:512:1", f"{mid_model}:512:1", f"{mid_model}:256:2"]
    for got in _measure(warm_model, jobs):
        ratio = got["estimate"] / got["peak"]
        print(f"{Path(got['job']).name}: estimate {got['estimate'] / MIB:.0f} MiB, "
              f"measured {got['peak'] / MIB:.0f} MiB, ratio {ratio:.2f}")  # fmt: skip
        assert LOW <= ratio <= HIGH, got


def test_estimates_grow_with_size_batch_and_shrink_with_tiling(mid_model):
    arch = architecture(mid_model)
    base = GenerationRequest(str(mid_model), "x", width=512, height=512)
    plan = MemoryPlan()
    e = estimate(base, plan, "float32", arch)
    assert estimate(replace(base, width=768, height=768), plan, "float32", arch).total > e.total
    assert estimate(replace(base, batch_size=4), plan, "float32", arch).total > e.total
    tiled = MemoryPlan(vae_tiling=True, vae_slicing=True)
    big = replace(base, width=1024, height=1024, batch_size=2)
    assert (
        estimate(big, tiled, "float32", arch).phases["vae decode"]
        < estimate(big, plan, "float32", arch).phases["vae decode"] / 2
    )


def test_verdict_refuses_and_offers_options_that_fit(mid_model):
    arch = architecture(mid_model)
    job = GenerationRequest(str(mid_model), "x", width=1024, height=1024, batch_size=4,
                            memory=MemorySettings(preset="fast"))  # fmt: skip
    need = estimate(job, MemoryPlan(), "float32", arch).total
    free = int(need * 0.5)
    verdict = check(job, "cpu", "float32", free, 16 * 2**30, arch=arch)
    assert not verdict.fits
    assert "needs about 6.2 GB but only 3.1 GB of memory is free" in verdict.message
    labels = [o.label for o in verdict.options]
    assert any("at a time" in x for x in labels)
    assert any("tiled VAE" in x for x in labels)
    assert any("Lower the size" in x for x in labels)
    for option in verdict.options:  # each option fits the same budget when checked again
        assert check(option.request, "cpu", "float32", free, 16 * 2**30, arch=arch).fits
        assert option.estimate.total <= free
    small = replace(job, width=64, height=64, batch_size=1)
    e = estimate(small, MemoryPlan(), "float16", arch)
    unet = arch.tensors["unet"].bytes_as(2)
    gpu_free = int((e.activations + unet * 1.05) / 0.9)  # the UNet alone fits, not all weights
    gpu = check(small, "cuda", "float16", gpu_free, 8 * 2**30, arch=arch)
    assert not gpu.fits and [o.label for o in gpu.options] == ["Model CPU offload (slower)"]
    assert check(job, "cpu", "float32", need * 2, 16 * 2**30, arch=arch).fits


def test_already_loaded_weights_are_not_counted_twice(mid_model):
    arch = architecture(mid_model)
    job = GenerationRequest(str(mid_model), "x", width=256, height=256)
    e = estimate(job, MemoryPlan(), "float32", arch)
    free = e.activations + e.weights // 2
    assert not check(job, "cpu", "float32", free, 16 * 2**30, arch=arch).fits
    assert check(job, "cpu", "float32", free, 16 * 2**30, loaded=e.weights, arch=arch).fits


def test_presets_resolve_by_device_memory():
    gib = 2**30
    assert preset_by_memory("cuda", 24 * gib) == "fast"
    assert preset_by_memory("cuda", 8 * gib) == "balanced"
    assert preset_by_memory("cuda", 6 * gib) == "low"
    assert preset_by_memory("cuda", 2 * gib) == "minimal"
    low = resolve(MemorySettings(preset="low"), "cuda", 24 * gib)
    assert low.vae_tiling and low.offload == "model"
    assert resolve(MemorySettings(preset="low"), "cpu", 24 * gib).offload == "none"
    mine = resolve(MemorySettings(preset="low", vae_tiling=False), "cuda", 24 * gib)
    assert not mine.vae_tiling
    assert not resolve(MemorySettings(preset="minimal"), "cuda", gib).attention_slicing


def test_sdpa_check_survives_a_half_imported_torch(monkeypatch):
    """The GUI thread's memory estimate may run while the preload thread is still importing
    torch (sys.modules holds a module without `nn`): it must answer, not raise (the real-window
    test saw AttributeError: partially initialized module 'torch' has no attribute 'nn')."""
    import sys
    import types

    from studio.engine.memory.estimate import torch_has_sdpa

    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    assert torch_has_sdpa() is True
