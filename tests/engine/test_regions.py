"""Regional prompts from a label map: masked cross-attention on tiny SD 1.x/2.x/SDXL pipelines."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from studio.engine.diffusion import regions
from studio.engine.diffusion.engine import DiffusionEngine
from studio.engine.diffusion.family import FAMILY
from studio.engine.diffusion.region_map import region_map
from studio.engine.diffusion.weighting import weighted_kwargs
from studio.engine.inputs import GenerateParams, Inputs
from studio.engine.recipe import request_from_recipe

SKY, WATER, TREE = 3, 22, 5  # ADE20K id + 1
SIZE = 128  # latent 16x16: levels of 16x16 and 8x8 in the tiny UNets


def label_map(size: int = SIZE) -> np.ndarray:
    labels = np.full((size, size), WATER, np.uint16)
    labels[: size // 2] = SKY
    return labels


REGIONS = (("sky", "stormy clouds at dusk"), ("water", "turquoise lagoon"))


def params(**kw) -> GenerateParams:
    values = dict(prompt="a landscape", negative_prompt="blurry", steps=3, guidance_scale=6.0)
    values.update(width=SIZE, height=SIZE, sampler="Euler", device="cpu", dtype="float32")
    values.update(seed=11, regions=REGIONS)
    values.update(kw)
    return GenerateParams(**values)


def test_region_map_keeps_painted_classes_with_words():
    inputs = Inputs((SIZE, SIZE), labels=label_map())
    wanted = [("Sky", "clouds"), ("tree", "oaks"), ("water", "waves")]
    kept, values, notes = region_map(inputs, wanted)
    assert kept == (("Sky", "clouds"), ("water", "waves"))
    assert (values[: SIZE // 2] == 1).all() and (values[SIZE // 2 :] == 2).all()
    assert "No tree painted" in notes[0]
    palette = {
        "name": "mine",
        "entries": [{"value": 1, "name": "Sky"}, {"value": 2, "name": "Sea"}],
    }
    ids = np.ones((4, 4), np.uint16)
    kept, values, _ = region_map(Inputs((4, 4), labels=ids, palette=palette), [("sky", "x")])
    assert kept == (("sky", "x"),) and (values == 1).all()


@pytest.fixture(scope="module")
def pipes(tiny_models):
    from diffusers import DiffusionPipeline, EulerDiscreteScheduler

    out = {f: DiffusionPipeline.from_pretrained(tiny_models.folder(f)) for f in FAMILIES}
    for pipe in out.values():  # one UNet call per step (PNDM adds a warm-up call)
        pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    return out


FAMILIES = ("sd1", "sd2", "sdxl")


def _attention_run(pipe, request, hook_first: list | None = None):
    """One 2-step call with region attention recording; optionally the first layer's output."""
    import torch

    def encode(prompt, negative, chunks):
        return weighted_kwargs(pipe, prompt, negative, (), chunks)

    with torch.inference_mode():
        text, slots = regions.region_text(pipe, request, encode)
        masks = regions.latent_masks(request.region_map, len(request.regions), None, (16, 16))
        processor = regions.RegionAttention(masks, slots, text["prompt_embeds"].shape[1])
        processor.record = []
        layers = [n for n in pipe.unet.attn_processors if ".attn2." in n]
        handles = []
        if hook_first is not None:
            first = pipe.unet.get_submodule(layers[0].removesuffix(".processor"))
            handles.append(first.register_forward_hook(lambda m, a, out: hook_first.append(out)))
        with regions.installed([pipe.unet], processor):
            pipe(**text, num_inference_steps=2, height=SIZE, width=SIZE, output_type="latent",
                 generator=torch.Generator().manual_seed(3), guidance_scale=6.0)  # fmt: skip
        for handle in handles:
            handle.remove()
    return processor, layers, masks


def _request(family_folder, **kw):
    inputs = Inputs((SIZE, SIZE), labels=label_map())
    return FAMILY.build_request("paint", str(family_folder), params(**kw), inputs).request


@pytest.mark.parametrize("family", FAMILIES)
def test_each_regions_tokens_get_attention_only_inside_it_at_every_level(
    pipes, tiny_models, family
):
    request = _request(tiny_models.folder(family))
    processor, layers, _ = _attention_run(pipes[family], request)
    assert len(processor.record) == 2 * len(layers)  # every cross-attention layer, every step
    levels = {entry["pixels"] for entry in processor.record}
    # every level with cross-attention: 16x16 and 8x8 (the tiny SDXL, like SDXL, has none in
    # its first level)
    assert levels == ({64} if family == "sdxl" else {256, 64})
    for entry in processor.record:
        for inside, outside in zip(entry["inside"], entry["outside"], strict=True):
            assert inside > 0.02, entry  # the region's words are attended where they belong
            assert outside < 1e-4, entry  # and (all but) nowhere else
    assert not any(p is processor for p in pipes[family].unet.attn_processors.values())


@pytest.mark.parametrize("family", FAMILIES)
def test_a_regions_words_change_only_that_regions_attention(pipes, tiny_models, family):
    folder = tiny_models.folder(family)
    first_a: list = []
    first_b: list = []
    processor, _, _ = _attention_run(pipes[family], _request(folder), first_a)
    other = (("sky", "a burning red sunset"), REGIONS[1])
    _attention_run(pipes[family], _request(folder, regions=other), first_b)
    # the first cross-attention layer at the first step sees the same latents in both runs
    a, b = first_a[0], first_b[0]
    diff = (a - b).abs()[a.shape[0] // 2 :].mean(dim=(0, 2))  # per pixel, conditional half
    sky = processor.bias(diff.shape[0], "cpu", a.dtype)[1][0]  # the sky at that layer's size
    inside, outside = diff[sky > 0.99], diff[sky <= 1e-5]  # past the soft edge
    assert inside.mean() > 1e-3 and len(outside) >= 16
    assert outside.max() < 1e-4 * inside.mean()  # the water's attention did not move


@pytest.fixture(scope="module")
def engine() -> DiffusionEngine:
    return DiffusionEngine()


def run(engine, request):
    steps: list = []
    result = engine.run(request, steps.append, threading.Event())
    return result, steps


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_regions_without_words_are_bit_identical_to_a_plain_run(engine, tiny_models, family):
    folder = tiny_models.folder(family)
    picture = np.random.default_rng(1).integers(0, 255, (SIZE, SIZE, 3), np.uint8)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[10:110, 30:120] = 255
    inputs = Inputs((SIZE, SIZE), picture=picture, mask=mask, labels=label_map())

    def built(regions):
        return FAMILY.build_request("inpaint", str(folder), params(regions=regions), inputs)

    plain = built(())
    assert FAMILY.needs("inpaint", params(regions=())) == {"picture", "mask"}
    assert "labels" in FAMILY.needs("inpaint", params())  # labels only for regions
    before, _ = run(engine, plain.request)
    empty = built((("sky", "  "), ("tree", "oaks"))).request  # no words / not painted
    assert empty.regions == () and empty.region_map is None and empty.label_map is None
    assert np.array_equal(run(engine, empty)[0].image, before.image)
    used, steps = run(engine, built(REGIONS).request)
    assert not np.array_equal(used.image, before.image)
    assert [s.step for s in steps if s.phase == "denoising"] == [1, 2, 3]  # steps stream
    assert np.array_equal(run(engine, plain.request)[0].image, before.image)  # processors back
    assert "regions" not in before.recipe and "region_map_sha256" not in before.recipe["request"]
    assert used.recipe["regions"] == [list(r) for r in REGIONS]


def test_regions_with_the_seg_controlnet_img2img_and_inpaint(engine, tiny_models, tmp_path):
    from studio.engine.testing.scaffold import save_controlnet_folder

    folder = tiny_models.folder("sd1")
    controlnet = save_controlnet_folder(tmp_path / "seg", folder)
    labels = label_map()
    picture = np.random.default_rng(0).integers(0, 255, (SIZE, SIZE, 3), np.uint8)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[20:100, 20:100] = 255
    cases = {
        "semantic": ("paint", dict(controlnet_path=str(controlnet)), {}),
        "txt2img": ("paint", {}, {}),  # regions alone: no ControlNet needed
        "img2img": ("paint", dict(paint_from_canvas=True), {"picture": picture}),
        "semantic-inpaint": (
            "inpaint",
            dict(controlnet_path=str(controlnet), inpaint_from_labels=True),
            {"picture": picture, "mask": mask},
        ),
    }
    for mode_name, (mode, extra, arrays) in cases.items():
        inputs = Inputs((SIZE, SIZE), labels=labels, **arrays)
        built = FAMILY.build_request(mode, str(folder), params(**extra), inputs)
        assert built.request.mode == mode_name and built.request.regions == REGIONS
        with_regions, steps = run(engine, built.request)
        without = replace(built.request, regions=(), region_map=None)
        assert not np.array_equal(with_regions.image, run(engine, without)[0].image)
        assert steps[-1].step == steps[-1].total
        recipe = json.loads(json.dumps(with_regions.recipe))
        again = request_from_recipe(recipe, **built.arrays)
        assert np.array_equal(run(engine, again)[0].image, with_regions.image), mode_name


def test_cli_generate_region_flags(tiny_sd_path, tmp_path):
    labels = tmp_path / "labels.png"
    Image.fromarray(label_map().astype(np.uint8), mode="L").save(labels)
    out = tmp_path / "out.png"
    args = ["generate", "--model", str(tiny_sd_path), "--prompt", "a landscape"]
    args += ["--labels", str(labels), "--region", "sky=stormy clouds", "--region", "water=waves"]
    args += ["--steps", "2", "--width", "64", "--height", "64", "--device", "cpu"]
    args += ["--dtype", "float32", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "studio", *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    from studio.io.png import read_recipe

    assert read_recipe(out)["regions"] == [["sky", "stormy clouds"], ["water", "waves"]]
