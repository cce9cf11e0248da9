"""Engine modes on tiny random-weight models loaded through our registry (parity with diffusers)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.engine.diffusion.engine import DiffusionEngine
from studio.engine.requests import GenerationRequest
from studio.errors import InvalidRequestError
from tests.engine.test_diffusion_engine import request_for
from tests.engine.test_diffusion_engine import run as run_with_previews


@pytest.fixture(scope="module")
def engine() -> DiffusionEngine:
    return DiffusionEngine()


def req(path, **kw) -> GenerationRequest:
    defaults = dict(prompt="a red barn in snow", num_inference_steps=3, guidance_scale=5.0, seed=7)
    return request_for(path, **{**defaults, **kw})


def run(engine, request, cancel_at=None):
    result, steps = run_with_previews(engine, request, cancel_at)
    return result, [p for p in steps if p.phase == "denoising"]


def plain(folder, cls_name, request, **kwargs):
    """The same inputs through diffusers itself, loaded by diffusers from the folder."""
    import diffusers

    from studio.engine.diffusion.samplers import make_scheduler

    cls = getattr(diffusers, cls_name)
    extra = {} if "XL" in cls_name else dict(safety_checker=None, requires_safety_checker=False)
    pipe = cls.from_pretrained(
        str(folder), local_files_only=True, **extra, **kwargs.pop("load", {})
    )
    pipe.set_progress_bar_config(disable=True)
    pipe.scheduler = make_scheduler(pipe.scheduler.config, request.sampler)
    args = dict(
        prompt=request.prompt,
        negative_prompt=request.negative_prompt,
        num_inference_steps=request.num_inference_steps,
        guidance_scale=request.guidance_scale,
        generator=torch.Generator("cpu").manual_seed(request.seed),
        output_type="np",
    )
    args.update(kwargs)
    return (pipe(**args).images[0] * 255).round().astype(np.uint8)


@pytest.mark.parametrize("family", ["sd1", "sd2", "sdxl"])
def test_single_file_equals_folder_equals_plain_diffusers(engine, tiny_models, family):
    folder = tiny_models.folder(family)
    single = tiny_models.single_file(family)
    from_folder, steps = run(engine, req(folder))
    from_file, _ = run(engine, req(single))
    cls = "StableDiffusionXLPipeline" if family == "sdxl" else "StableDiffusionPipeline"
    reference = plain(folder, cls, req(folder), width=64, height=64)
    assert np.array_equal(from_folder.image, reference)
    assert np.array_equal(from_file.image, reference)
    assert [p.step for p in steps] == [1, 2, 3]
    assert (
        from_file.recipe["request"]["model_sha256"] != from_folder.recipe["request"]["model_sha256"]
    )


def test_sdxl_inpaint_single_file_keeps_outside_pixels(engine, tiny_models):
    picture, mask = picture_and_mask()
    result, _ = run(
        engine,
        req(tiny_models.single_file("sdxl", inpaint=True), init_image=picture, mask=mask,
            strength=1.0),
    )  # fmt: skip
    assert result.recipe["pipeline"] == "StableDiffusionXLInpaintPipeline"
    assert np.array_equal(result.image[mask < 128], picture[mask < 128])


def test_pickled_single_file_runs_like_safetensors(engine, tiny_models):
    a, _ = run(engine, req(tiny_models.single_file("sd1")))
    b, _ = run(engine, req(tiny_models.single_file("sd1", suffix=".ckpt")))
    assert np.array_equal(a.image, b.image)


def test_batches_continue_the_seed_and_match_single_runs(engine, tiny_models):
    folder = tiny_models.folder("sd1")
    batch, steps = run(engine, req(folder, batch_size=2, batch_count=2))
    assert len(batch.images) == 4 and batch.recipe["seeds"] == [7, 8, 9, 10]
    assert [p.step for p in steps] == list(range(1, 7)) and steps[-1].total == 6
    for k in (0, 3):
        single, _ = run(engine, req(folder, seed=7 + k))
        diff = np.abs(single.image.astype(int) - batch.images[k].astype(int)).max()
        assert diff <= 2  # batched convolutions may round differently in the last bit
    assert not np.array_equal(batch.images[0], batch.images[1])


def test_variation_seed_blends_between_two_seeds(engine, tiny_models):
    folder = tiny_models.folder("sd1")
    base, _ = run(engine, req(folder))
    other, _ = run(engine, req(folder, seed=99))
    at0, _ = run(engine, req(folder, variation_seed=99, variation_strength=0.0))
    at1, _ = run(engine, req(folder, variation_seed=99, variation_strength=1.0))
    half, _ = run(engine, req(folder, variation_seed=99, variation_strength=0.5))
    assert np.array_equal(at0.image, base.image) and np.array_equal(at1.image, other.image)
    assert not np.array_equal(half.image, base.image)
    assert not np.array_equal(half.image, other.image)
    assert half.recipe["variation_seed"] == 99


def picture_and_mask(size=96):
    yy, xx = np.mgrid[0:size, 0:size]
    picture = np.stack([xx * 2, yy * 2, (xx + yy)], -1).clip(0, 255).astype(np.uint8)
    mask = np.zeros((size, size), np.uint8)
    mask[30:62, 20:60] = 255
    return picture, mask


@pytest.mark.parametrize("inpaint_model", [False, True])
@pytest.mark.parametrize("padding", [32, None])
def test_inpaint_keeps_every_pixel_outside_the_mask(engine, tiny_models, inpaint_model, padding):
    folder = tiny_models.folder("sd1", inpaint=inpaint_model)
    picture, mask = picture_and_mask()
    request = req(
        folder, init_image=picture, mask=mask, strength=1.0, inpaint_padding=padding, mask_blur=6
    )
    result, steps = run(engine, request)
    assert result.image.shape == picture.shape
    outside = mask < 128
    assert np.array_equal(result.image[outside], picture[outside])
    assert not np.array_equal(result.image[~outside], picture[~outside])
    assert len(steps) == 3
    expected = "StableDiffusionInpaintPipeline"
    assert result.recipe["pipeline"] == expected and result.recipe["mask_blur"] == 6
    if padding is not None:  # mask 20..60 x 30..62 grown by 32, squared for the 64x64 output
        assert result.recipe["crop_box"] == [0, 0, 94, 94]
    assert result.recipe["request"]["mask_sha256"] is not None


@pytest.mark.parametrize("content", ["fill", "latent noise"])
def test_masked_content_choices_run_and_differ(engine, tiny_models, content):
    folder = tiny_models.folder("sd1")
    picture, mask = picture_and_mask()
    original, _ = run(engine, req(folder, init_image=picture, mask=mask, strength=0.7))
    changed, steps = run(
        engine, req(folder, init_image=picture, mask=mask, strength=0.7, masked_content=content)
    )
    assert not np.array_equal(original.image, changed.image)
    outside = mask < 128
    assert np.array_equal(changed.image[outside], picture[outside])
    assert len(steps) == (3 if content == "latent noise" else 2)


def test_color_match_moves_the_patch_towards_its_surroundings(engine, tiny_models):
    folder = tiny_models.folder("sd1")
    picture, mask = picture_and_mask()
    plain_run, _ = run(engine, req(folder, init_image=picture, mask=mask, strength=1.0))
    matched, _ = run(
        engine, req(folder, init_image=picture, mask=mask, strength=1.0, color_match=True)
    )
    inside = mask >= 128
    target = picture[inside].mean(0)
    assert (
        np.abs(matched.image[inside].mean(0) - target).sum()
        < np.abs(plain_run.image[inside].mean(0) - target).sum()
    )


def test_bad_inpaint_inputs_are_refused(engine, tiny_models):
    folder = tiny_models.folder("sd1")
    picture, mask = picture_and_mask()
    with pytest.raises(InvalidRequestError, match="mask is empty"):
        run(engine, req(folder, init_image=picture, mask=np.zeros_like(mask)))
    with pytest.raises(InvalidRequestError, match="must match"):
        run(engine, req(folder, init_image=picture, mask=mask[:50]))
    with pytest.raises(InvalidRequestError, match="Masked content"):
        run(engine, req(folder, init_image=picture, mask=mask, masked_content="zero"))


def test_crop_box_grows_by_the_padding_and_keeps_the_aspect():
    from studio.engine.diffusion.inpaint import crop_box

    mask = np.zeros((512, 512), bool)
    mask[100:110, 100:110] = True
    assert crop_box(mask, 32, 1.0) == (68, 68, 142, 142)
    x0, y0, x1, y1 = crop_box(mask, 32, 2.0)
    assert (x1 - x0, y1 - y0) == (148, 74) and x0 <= 68 and x1 >= 142


def test_outpaint_grows_the_canvas_and_repaints_the_band(engine, tiny_models):
    from studio.engine.diffusion.inpaint import outpaint

    picture, _ = picture_and_mask(64)
    grown, mask = outpaint(picture, 0, 0, 32, 0, overlap=8)
    assert grown.shape == (64, 96, 3) and mask.shape == (64, 96)
    assert np.array_equal(grown[:, :64], picture)
    assert (mask[:, 56:] == 255).all() and (mask[:, :56] == 0).all()
    result, _ = run(
        engine,
        req(
            tiny_models.folder("sd1"),
            init_image=grown,
            mask=mask,
            strength=1.0,
            masked_content="fill",
        ),
    )
    assert result.image.shape == (64, 96, 3)
    assert np.array_equal(result.image[:, :56], picture[:, :56])
    with pytest.raises(ValueError, match="non-negative"):
        outpaint(picture, 0, 0, 0, 0)


def test_single_file_without_a_fitting_config_says_what_to_do(engine, tiny_models, tmp_path):
    """A tiny checkpoint with no sidecar gets the shipped SD 1.5 config: shapes do not fit."""
    import shutil

    from studio.errors import ModelLoadError

    lonely = tmp_path / "lonely.safetensors"
    shutil.copy(tiny_models.single_file("sd1"), lonely)
    with pytest.raises(ModelLoadError, match=r"lonely\.config/"):
        run(engine, req(lonely))


def test_inpaint_inside_the_mask_equals_plain_diffusers(engine, tiny_models):
    """Whole picture, no feather: inside = diffusers' inpaint output, outside = the original."""
    from PIL import Image

    folder = tiny_models.folder("sd1", inpaint=True)
    picture, mask = picture_and_mask(64)
    request = req(folder, init_image=picture, mask=mask, strength=1.0, inpaint_padding=None,
                  mask_blur=0)  # fmt: skip
    ours, _ = run(engine, request)
    reference = plain(
        folder,
        "StableDiffusionInpaintPipeline",
        request,
        image=Image.fromarray(picture),
        mask_image=Image.fromarray(mask),
        strength=1.0,
        width=64,
        height=64,
    )
    inside = mask >= 128
    assert np.array_equal(ours.image[inside], reference[inside])
    assert np.array_equal(ours.image[~inside], picture[~inside])
