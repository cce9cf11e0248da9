"""The diffusion engine on a tiny random-weight SD pipeline loaded through our own loader."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from studio.engine.diffusion.engine import DiffusionEngine
from studio.engine.diffusion.samplers import SAMPLERS, make_scheduler
from studio.engine.requests import GenerationRequest
from studio.errors import InvalidRequestError, ModelLoadError


@pytest.fixture(scope="module")
def engine() -> DiffusionEngine:
    return DiffusionEngine()


def request_for(path, **kw) -> GenerationRequest:
    args = dict(
        model_path=str(path),
        prompt="a lighthouse on a cliff",
        negative_prompt="blurry",
        num_inference_steps=4,
        guidance_scale=6.0,
        seed=1234,
        width=64,
        height=64,
        sampler="Euler",
        device="cpu",
        dtype="float32",
    )
    args.update(kw)
    return GenerationRequest(**args)


def run(engine, request, cancel_at=None):
    steps = []
    cancel = threading.Event()

    def on_step(preview):
        steps.append(preview)
        if cancel_at is not None and preview.step == cancel_at:
            cancel.set()

    return engine.run(request, on_step, cancel), steps


def plain_diffusers(path, request: GenerationRequest, init=None) -> np.ndarray:
    """The same inputs through a plain diffusers pipeline, loaded by diffusers itself."""
    import torch
    from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline
    from PIL import Image

    cls = StableDiffusionImg2ImgPipeline if init is not None else StableDiffusionPipeline
    pipe = cls.from_pretrained(
        str(path), local_files_only=True, safety_checker=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)
    pipe.scheduler = make_scheduler(pipe.scheduler.config, request.sampler)
    kwargs = dict(
        prompt=request.prompt,
        negative_prompt=request.negative_prompt,
        num_inference_steps=request.num_inference_steps,
        guidance_scale=request.guidance_scale,
        generator=torch.Generator("cpu").manual_seed(request.seed),
        output_type="pil",
    )
    if init is not None:
        kwargs.update(image=Image.fromarray(init), strength=request.strength)
    else:
        kwargs.update(width=request.width, height=request.height)
    return np.asarray(pipe(**kwargs).images[0])


def test_same_request_gives_the_same_image(engine, tiny_sd_path):
    a, _ = run(engine, request_for(tiny_sd_path))
    b, _ = run(engine, request_for(tiny_sd_path))
    c, _ = run(engine, request_for(tiny_sd_path, seed=99))
    assert a.image.shape == (64, 64, 3) and a.image.dtype == np.uint8
    assert np.array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)
    assert not a.draft and a.steps_done == 4


@pytest.mark.parametrize("sampler", ["Euler", "Euler a", "DPM++ 2M Karras", "PLMS"])
def test_txt2img_equals_plain_diffusers(engine, tiny_sd_path, sampler):
    request = request_for(tiny_sd_path, sampler=sampler)
    ours, _ = run(engine, request)
    assert np.array_equal(ours.image, plain_diffusers(tiny_sd_path, request))


def test_img2img_equals_plain_diffusers(engine, tiny_sd_path):
    rng = np.random.default_rng(0)
    init = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    request = request_for(tiny_sd_path, init_image=init, strength=0.5, num_inference_steps=6)
    ours, steps = run(engine, request)
    assert np.array_equal(ours.image, plain_diffusers(tiny_sd_path, request, init))
    assert [p.step for p in steps if p.phase == "denoising"] == [1, 2, 3]


@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_every_sampler_streams_one_preview_per_step(engine, tiny_sd_path, sampler):
    result, steps = run(engine, request_for(tiny_sd_path, sampler=sampler, num_inference_steps=5))
    denoising = [p for p in steps if p.phase == "denoising"]
    assert steps[0].phase == "loading"
    assert [p.step for p in denoising] == [1, 2, 3, 4, 5]
    assert all(p.total == 5 for p in denoising)
    assert all(p.image is not None and p.image.shape == (8, 8, 3) for p in denoising)
    assert result.steps_done == 5 and result.recipe["sampler"] == sampler
    assert result.recipe["scheduler"] == SAMPLERS[sampler][0]


def test_cancel_at_step_k_returns_a_draft_without_vae_decode(engine, tiny_sd_path, monkeypatch):
    request = request_for(tiny_sd_path, num_inference_steps=8)
    full, _ = run(engine, request)  # loads the model
    decodes = []
    vae = engine.cache.get(str(tiny_sd_path), "cpu", "float32").txt2img.vae
    original = vae.decode
    monkeypatch.setattr(vae, "decode", lambda *a, **k: decodes.append(1) or original(*a, **k))
    draft, steps = run(engine, request, cancel_at=3)
    assert draft is not None and draft.draft
    assert draft.steps_done == 3 and [p.step for p in steps[1:]] == [1, 2, 3]
    assert draft.image.shape == (64, 64, 3)
    assert draft.recipe["draft"] is True and draft.recipe["steps_done"] == 3
    assert decodes == []  # no final VAE decode on cancel
    assert not np.array_equal(draft.image, full.image)


def test_cancel_before_start_runs_nothing(engine, tiny_sd_path):
    cancel = threading.Event()
    cancel.set()
    calls = []
    assert engine.run(request_for(tiny_sd_path), calls.append, cancel) is None
    assert calls == []


def test_recipe_says_what_made_the_image(engine, tiny_sd_path):
    result, _ = run(engine, request_for(tiny_sd_path))
    r = result.recipe
    assert r["seed"] == 1234 and r["prompt"] == "a lighthouse on a cliff"
    assert r["negative_prompt"] == "blurry" and r["guidance_scale"] == 6.0
    assert (r["width"], r["height"]) == (64, 64) and r["model_name"] == "tiny-sd"
    assert r["device"] == "cpu" and r["dtype"] == "float32"
    assert {"torch", "diffusers", "transformers", "studio"} <= set(r["versions"])
    assert r["scheduler_config"]["beta_schedule"] == "scaled_linear"


@pytest.mark.parametrize(
    "kw, words",
    [
        (dict(width=70), "multiple of 8"),
        (dict(num_inference_steps=0), "Steps"),
        (dict(guidance_scale=-1.0), "CFG"),
        (dict(sampler="Nope"), "Unknown sampler"),
        (dict(init_image=np.zeros((64, 64, 3), np.uint8), strength=0.1), "no denoising step"),
        (dict(init_image=np.zeros((64, 64, 3), np.uint8), strength=1.5), "Strength"),
    ],
)
def test_bad_values_are_refused_with_plain_words(engine, tiny_sd_path, kw, words):
    with pytest.raises(InvalidRequestError, match=words):
        run(engine, request_for(tiny_sd_path, **kw))


def test_size_the_unet_cannot_take_names_valid_sizes(engine, tiny_sd_path):
    # tiny UNet downsamples once (x2) after the x8 VAE: multiples of 16
    with pytest.raises(InvalidRequestError, match=r"multiple of 16\. Try 64 or 80"):
        run(engine, request_for(tiny_sd_path, width=72))


def test_a_folder_that_is_not_a_model_is_refused(engine, tmp_path):
    (tmp_path / "junk").mkdir()
    with pytest.raises(ModelLoadError, match="not a diffusers model folder"):
        run(engine, request_for(tmp_path / "junk"))
    with pytest.raises(ModelLoadError, match="not found"):
        run(engine, request_for(tmp_path / "missing"))


def test_pickled_only_weights_are_refused(engine, tiny_sd_path, tmp_path):
    import shutil

    copy = tmp_path / "pickled"
    shutil.copytree(tiny_sd_path, copy)
    for f in copy.rglob("*.safetensors"):
        f.rename(f.with_suffix(".bin"))
    with pytest.raises(ModelLoadError, match="safetensors"):
        run(engine, request_for(copy))


def test_out_of_memory_is_reported_plainly_and_the_next_job_runs(engine, tiny_sd_path, monkeypatch):
    from studio.errors import OutOfMemoryError

    run(engine, request_for(tiny_sd_path))
    unet = engine.cache.get(str(tiny_sd_path), "cpu", "float32").txt2img.unet

    def exhausted(*args, **kwargs):
        raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 9 GB")

    monkeypatch.setattr(unet, "forward", exhausted)
    with pytest.raises(OutOfMemoryError, match="ran out of memory at 64x64") as info:
        run(engine, request_for(tiny_sd_path))
    assert "not enough memory" in info.value.details
    monkeypatch.undo()
    result, _ = run(engine, request_for(tiny_sd_path))
    assert result is not None and not result.draft


def test_bfloat16_weights_run_on_cpu(tiny_sd_path):
    result, steps = run(DiffusionEngine(), request_for(tiny_sd_path, dtype="bfloat16"))
    assert result.recipe["dtype"] == "bfloat16" and result.image.shape == (64, 64, 3)
    assert [p.step for p in steps[1:]] == [1, 2, 3, 4]
