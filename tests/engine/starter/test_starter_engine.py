"""StarterEngine behind the engine seam: streaming, cancel, determinism, routing, inpainting."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from studio.engine.models.registry import inspect_folder, scan
from studio.engine.requests import GenerationRequest
from studio.engine.router import EngineRouter
from studio.engine.starter import vocab
from studio.engine.starter.composite import feather
from studio.engine.starter.engine import StarterEngine
from studio.engine.starter.model import build_unet, save_starter, tiny_config
from studio.errors import InvalidRequestError


@pytest.fixture(scope="module")
def starter_dir(tmp_path_factory):
    torch.manual_seed(0)
    cfg = tiny_config()
    base = tmp_path_factory.mktemp("models")
    save_starter(base / "tiny-starter", build_unet(cfg), cfg, "# Tiny\n", fp16=False)
    return base / "tiny-starter"


@pytest.fixture(scope="module")
def engine():
    return StarterEngine()


def _req(folder, **kw):
    base = dict(model_path=str(folder), prompt="sunset over a lake", num_inference_steps=4,
                guidance_scale=3.0, seed=7, width=48, height=40)  # fmt: skip
    return GenerationRequest(**{**base, **kw})


def _run(engine, request, cancel_at=None):
    previews, cancel = [], threading.Event()

    def on_step(p):
        previews.append(p)
        if cancel_at is not None and p.step == cancel_at:
            cancel.set()

    return engine.run(request, on_step, cancel), previews


def test_registry_lists_a_starter_folder(starter_dir):
    info = inspect_folder(starter_dir)
    assert (info.kind, info.family, info.format, info.usable) == (
        "sd-pipeline", "starter", "starter", True,
    )  # fmt: skip
    assert "Starter" in info.label
    assert [m.path for m in scan([starter_dir.parent])] == [str(starter_dir)]
    (starter_dir.parent / "broken").mkdir(exist_ok=True)
    (starter_dir.parent / "broken" / "starter.json").write_text('{"format": "other"}')
    broken = [m for m in scan([starter_dir.parent]) if m.name == "broken"]
    assert broken and not broken[0].usable


def test_one_preview_per_step_and_canvas_size(engine, starter_dir):
    result, previews = _run(engine, _req(starter_dir))
    steps = [p.step for p in previews if p.phase == "denoising"]
    assert steps == [1, 2, 3, 4]
    assert previews[0].phase == "loading"
    assert all(p.image.shape == (32, 32, 3) for p in previews[1:])
    assert result.image.shape == (40, 48, 3) and not result.draft
    assert result.steps_done == 4
    recipe = result.recipe
    assert recipe["model_family"] == "starter" and "resized to 48x40" in recipe["resized"]
    assert recipe["style_id"] == vocab.read_prompt("sunset over a lake").style_id != 0
    assert recipe["materials"] == ["lake"]
    assert recipe["label_map_source"].startswith("composed")


def test_cancel_keeps_the_last_preview_as_a_draft(engine, starter_dir):
    result, previews = _run(engine, _req(starter_dir), cancel_at=2)
    assert result.draft and result.steps_done == 2
    assert result.image.shape == (40, 48, 3)
    assert [p.step for p in previews] == [0, 1, 2]


def test_same_seed_same_picture_other_seed_differs(engine, starter_dir):
    a, _ = _run(engine, _req(starter_dir))
    b, _ = _run(engine, _req(starter_dir))
    c, _ = _run(engine, _req(starter_dir, seed=8))
    assert np.array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)


def test_router_sends_starter_requests_to_the_starter(starter_dir):
    class Refuse:
        def run(self, *args):
            raise AssertionError("the diffusion engine must not see starter requests")

    router = EngineRouter(diffusion=Refuse())
    result, _ = _run(router, _req(starter_dir, prompt="foggy mountains"))
    assert result.recipe["engine"] == "starter" and result.image.shape == (40, 48, 3)


def test_painted_labels_are_used(engine, starter_dir):
    labels = np.full((40, 48), vocab.material_value("sky"), np.uint16)
    labels[20:] = vocab.material_value("sea")
    result, _ = _run(engine, _req(starter_dir, label_map=labels))
    assert result.recipe["label_map_source"] == "painted label layer"
    bad = labels.copy()
    bad[0, 0] = 90
    with pytest.raises(InvalidRequestError):
        _run(engine, _req(starter_dir, label_map=bad))


def test_inpaint_keeps_pixels_outside_the_mask(engine, starter_dir):
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    mask = np.zeros((40, 48), np.uint8)
    mask[10:30, 12:36] = 255
    result, previews = _run(
        engine, _req(starter_dir, init_image=picture, mask=mask, mask_blur=4, strength=1.0)
    )
    assert result.recipe["label_map_source"].startswith("none (inpainting")
    outside = feather(mask, 4) == 0
    assert outside.sum() > 0.5 * mask.size
    assert np.array_equal(result.image[outside], picture[outside])
    assert not np.array_equal(result.image[15:25, 20:30], picture[15:25, 20:30])
    assert [p.step for p in previews[1:]] == [1, 2, 3, 4]


def test_img2img_strength_runs_the_last_steps(engine, starter_dir):
    picture = np.full((40, 48, 3), 120, np.uint8)
    result, previews = _run(engine, _req(starter_dir, init_image=picture, strength=0.5))
    assert [p.step for p in previews[1:]] == [1, 2]
    assert result.image.shape == (40, 48, 3)
