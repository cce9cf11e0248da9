"""Settings read back from PNGs: Studio's JSON recipe first, A1111 `parameters` otherwise."""

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from studio.errors import StudioError
from studio.io.png import save_png
from studio.io.settings_from_png import parse_a1111, read_settings

A1111 = (
    "a castle on a hill,\nmisty morning\n"
    "Negative prompt: blurry, low quality\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 1234567890, "
    "Size: 768x512, Model hash: abc123, Model: dreamy_v2, Denoising strength: 0.45, "
    'Lora hashes: "detail: 1f2e, style: 9a8b", Version: v1.10.1'
)


def test_parse_a1111_three_parts():
    got = parse_a1111(A1111)
    assert got["prompt"] == "a castle on a hill,\nmisty morning"
    assert got["negative_prompt"] == "blurry, low quality"
    assert got["num_inference_steps"] == 28 and got["guidance_scale"] == 6.5
    assert got["seed"] == 1234567890 and (got["width"], got["height"]) == (768, 512)
    assert got["sampler"] == "DPM++ 2M Karras" and got["model_name"] == "dreamy_v2"
    assert got["strength"] == 0.45


def test_prompt_only_text_has_no_settings():
    got = parse_a1111("just a prompt")
    assert got == {"prompt": "just a prompt", "negative_prompt": ""}


def png_with_text(path, **chunks):
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)


def test_read_prefers_studio_recipe(tmp_path):
    recipe = {
        "prompt": "ours",
        "seed": 5,
        "num_inference_steps": 9,
        "sampler": "DDIM",
        "width": 64,
        "height": 64,
        "versions": {"studio": "x"},
    }
    save_png(tmp_path / "ours.png", np.zeros((4, 4, 3), np.uint8), recipe)
    got = read_settings(tmp_path / "ours.png")
    assert got["prompt"] == "ours" and got["seed"] == 5 and got["sampler"] == "DDIM"
    png_with_text(tmp_path / "a1111.png", parameters=A1111)
    assert read_settings(tmp_path / "a1111.png")["seed"] == 1234567890


def test_png_without_settings_or_not_an_image(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "plain.png")
    with pytest.raises(StudioError, match="carries no generation settings"):
        read_settings(tmp_path / "plain.png")
    (tmp_path / "junk.png").write_bytes(b"nope")
    with pytest.raises(StudioError, match="Cannot read junk.png"):
        read_settings(tmp_path / "junk.png")
    png_with_text(tmp_path / "bad.png", studio="{broken")
    with pytest.raises(StudioError, match="damaged"):
        read_settings(tmp_path / "bad.png")
