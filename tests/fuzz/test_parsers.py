"""Parsers that cannot be made slow or crash: A1111 settings text, PNG recipes, `.studio`
manifests and the settings a project carries. Each case ends in typed values or a
StudioError, in bounded time; the session's settings keep their types."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from studio.io.project import load_project
from studio.io.settings_from_png import parse_a1111, read_settings
from studio.session.settings import PromptSettings, apply_values
from tests.fuzz.conftest import case
from tests.fuzz.strategies import JSON, deep_json, json_bytes

A1111_ALPHABET = st.sampled_from(list('abcXYZ019 ,:"\\\n.-x') + ["Steps: ", "Seed: ", "Size: "])
TYPES = {"num_inference_steps": int, "seed": int, "width": int, "height": int,
         "guidance_scale": float, "strength": float, "prompt": str, "negative_prompt": str,
         "sampler": str, "model_name": str}  # fmt: skip


def _typed_ok(values: dict) -> None:
    for name, kind in TYPES.items():
        if name in values:
            assert type(values[name]) is kind, (name, values[name])
    for name in ("guidance_scale", "strength"):
        assert values.get(name, 0) == values.get(name, 0)  # not NaN


@given(text=st.lists(A1111_ALPHABET, max_size=400).map("".join), tail=st.integers(0, 70_000))
def test_a1111_text_parses_in_linear_time(text, tail):
    odd = "Steps: 1, " + "a" * tail if tail % 3 == 0 else "Steps: 1, " + 'k: "' + "\\" * tail
    for label, value in (("generated", text), ("long odd", odd), ("both", text + "\n" + odd)):
        with case("A1111 settings text", f"{label} {len(value)} chars"):
            _typed_ok(parse_a1111(value))


def _png_with(tmp_path, key: str, text: str):
    info = PngImagePlugin.PngInfo()
    info.add_text(key, text)
    path = tmp_path / "settings.png"
    Image.new("RGB", (4, 4)).save(path, pnginfo=info)
    return path


@given(recipe=st.one_of(JSON, st.dictionaries(st.sampled_from(sorted(TYPES)), JSON, max_size=6)))
def test_png_recipes_of_any_shape(tmp_path, clean, recipe):
    path = _png_with(tmp_path, "studio", json_bytes(recipe).decode())
    found = []
    with case("PNG settings recipe", str(recipe)[:40], outcome := []):
        outcome.append(clean(lambda: found.append(read_settings(path))))
    if found:
        _typed_ok(found[0])


def test_png_recipe_deep_and_non_finite(tmp_path, clean):
    for label, text in {"deep": deep_json(100_000).decode(), "nan": '{"seed": NaN}',
                        "huge": '{"guidance_scale": 1e999}'}.items():  # fmt: skip
        path = _png_with(tmp_path, "studio", text)
        with case("PNG settings recipe", label, outcome := []):
            outcome.append(clean(read_settings, path))
            assert outcome == ["refused"]


def _layer_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((4, 4, 4), np.uint8), "RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def _project(path, manifest: bytes) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", manifest)
        archive.writestr("layers/0000.png", _layer_png())


def _good_manifest() -> dict:
    layer = {"name": "L", "kind": "raster", "visible": True, "opacity": 1.0, "locked": False,
             "file": "layers/0000.png", "width": 4, "height": 4}  # fmt: skip
    return {"format": "studio-project", "version": 2, "width": 4, "height": 4,
            "layers": [layer], "settings": {}, "palettes": {}}  # fmt: skip


FIELDS = ["width", "height", "layers", "settings", "palettes", "version"]
LAYER_FIELDS = ["name", "kind", "visible", "opacity", "locked", "file", "width", "height",
                "sources", "metadata", "palette", "draft"]  # fmt: skip


@given(
    field=st.sampled_from(FIELDS + [f"layer.{f}" for f in LAYER_FIELDS]),
    value=st.one_of(JSON, st.floats(allow_nan=True, allow_infinity=True)),
)
def test_manifests_with_wrong_types(tmp_path, clean, field, value):
    from studio.document.files import layers_from_project

    manifest = _good_manifest()
    if field.startswith("layer."):
        manifest["layers"][0][field[6:]] = value
    else:
        manifest[field] = value
    path = tmp_path / "hostile.studio"
    _project(path, json_bytes(manifest))
    with case("project manifests", f"{field}={str(value)[:30]}", outcome := []):
        outcome.append(clean(lambda: layers_from_project(load_project(path))))


def test_manifests_deep_huge_and_many_layers(tmp_path, clean):
    many, more = _good_manifest(), _good_manifest()
    many["layers"] = many["layers"] * 20_000  # ~2 MB: refused by the layer count
    more["layers"] = more["layers"] * 300_000  # ~40 MB: refused by the manifest size
    tall = json.dumps(_good_manifest()).replace('"height": 4', '"height": 1e999', 1)
    nan = json.dumps(_good_manifest()).replace('"width": 4,', '"width": NaN,', 1)
    cases = {
        "deep": b'{"format": "studio-project", "version": 2, "x": ' + deep_json(100_000) + b"}",
        "20k layers": json_bytes(many),
        "300k layers": json_bytes(more),
        "NaN width": nan.encode(),
        "1e999 height": tall.encode(),
        "2^40 width": json.dumps({**_good_manifest(), "width": 2**40}).encode(),
    }  # fmt: skip
    for label, manifest in cases.items():
        path = tmp_path / "hostile.studio"
        _project(path, manifest)
        with case("project manifests", label, outcome := []):
            outcome.append(clean(load_project, path))
            assert outcome == ["refused"], label


@given(values=st.one_of(JSON, st.dictionaries(
    st.sampled_from(["steps", "prompt", "loras", "mode", "seed", "guidance_scale", "__class__",
                     "__dict__", "generate", "width", "random_seed", "variation_seed"]),
    st.one_of(JSON, st.floats(allow_nan=True, allow_infinity=True)), max_size=6)))  # fmt: skip
def test_project_settings_go_through_the_schema(values):
    settings = PromptSettings()
    defaults = PromptSettings()
    with case("project settings", str(values)[:40]):
        apply_values(settings, values)
    for name, default in vars(defaults).items():
        value = getattr(settings, name)
        if default is not None:
            assert type(value) is type(default), (name, value)
        if isinstance(value, float):
            assert value == value and abs(value) != float("inf")
    assert type(settings) is PromptSettings and "generate" not in vars(settings)
