"""PNG export: A1111 `parameters` text, Studio JSON recipe, atomic writes."""

import json

import numpy as np
import pytest
from PIL import Image

from studio.io.atomic import write_atomic
from studio.io.png import a1111_parameters, read_recipe, save_png

RECIPE = {
    "prompt": "a red barn, golden hour",
    "negative_prompt": "blurry",
    "num_inference_steps": 20,
    "sampler": "DPM++ 2M Karras",
    "guidance_scale": 7.5,
    "seed": 42,
    "width": 512,
    "height": 768,
    "model_name": "sd15",
    "strength": None,
    "versions": {"studio": "0.1.0"},
}


def test_a1111_parameters_layout():
    text = a1111_parameters(RECIPE)
    lines = text.split("\n")
    assert lines[0] == "a red barn, golden hour"
    assert lines[1] == "Negative prompt: blurry"
    assert lines[2].startswith(
        "Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 42, Size: 512x768, Model: sd15"
    )


def test_draft_and_img2img_are_marked():
    text = a1111_parameters({**RECIPE, "strength": 0.6, "draft": True, "steps_done": 7})
    assert "Denoising strength: 0.6" in text and "Draft: stopped after step 7" in text


def test_png_carries_both_chunks(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, (8, 12, 4), dtype=np.uint8)
    path = tmp_path / "out.png"
    save_png(path, pixels, RECIPE)
    with Image.open(path) as image:
        assert image.size == (12, 8) and image.mode == "RGBA"
        assert np.array_equal(np.asarray(image), pixels)
        assert image.text["parameters"] == a1111_parameters(RECIPE)
        assert json.loads(image.text["studio"])["seed"] == 42
    assert read_recipe(path)["prompt"] == RECIPE["prompt"]


def test_bad_pixels_are_refused(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        save_png(tmp_path / "x.png", np.zeros((4, 4), np.float32))


def test_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "keep.txt"
    path.write_bytes(b"old")

    def explode(handle):
        handle.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, explode)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
