"""The starter models shipped in models/: safetensors only, within the 25 MB budget, found by
the registry as starters, and each draws a sky-over-grass label map as sky over grass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from studio.engine.models.checkpoints import WEIGHT_SUFFIXES
from studio.engine.models.registry import scan
from studio.engine.starter import vocab

MODELS = Path(__file__).resolve().parents[1] / "models"
BUDGET = 25 * 2**20  # all starters together, in git


def _sky_over_grass(size: int) -> np.ndarray:
    labels = np.full((size, size), vocab.material_value("sky"), np.uint16)
    labels[size // 2 :] = vocab.material_value("grass")
    return labels


def _sky_and_grass_look_right(picture: np.ndarray) -> None:
    top, bottom = picture[: len(picture) // 3].astype(float), picture[-len(picture) // 3 :]
    sky, grass = top.reshape(-1, 3).mean(0), bottom.astype(float).reshape(-1, 3).mean(0)
    assert sky[2] > sky[1] and sky[2] > sky[0], sky  # blue on top
    assert grass[1] > grass[2], grass  # green below
    assert picture.std() > 5  # not a flat fill


def test_weights_are_safetensors_within_the_budget_and_each_has_a_card():
    weights = [p for p in MODELS.rglob("*") if p.suffix in WEIGHT_SUFFIXES]
    assert weights and all(p.suffix == ".safetensors" for p in weights), weights
    assert sum(p.stat().st_size for p in weights) <= BUDGET
    folders = sorted(p for p in MODELS.iterdir() if p.is_dir())
    assert [f.name for f in folders] == ["starter-diffusion", "starter-spade"]
    for folder in folders:
        card = (folder / "README.md").read_text(encoding="utf-8")
        assert "Measured quality" in card and "studio " in card and "seed" in card.lower()


def test_the_registry_finds_both_as_usable_starters():
    found = {m.name: m for m in scan([MODELS], kinds=None)}
    assert found["starter-diffusion"].starter and found["starter-diffusion"].usable
    spade = found["starter-spade.safetensors"]
    assert spade.family == "spade" and spade.variant == "landscape"
    assert spade.starter and spade.usable


def test_the_starter_spade_draws_sky_over_grass():
    from studio.engine.gan.requests import SpadeRequest
    from studio.engine.gan.spade_model import load_spade, render

    path = str(MODELS / "starter-spade" / "starter-spade.safetensors")
    request = SpadeRequest(path, _sky_over_grass(256), label_set="landscape")
    picture, unknown = render(load_spade(path), request)
    assert picture.shape == (256, 256, 3) and not unknown
    _sky_and_grass_look_right(picture)


def test_the_starter_diffusion_draws_sky_over_grass():
    from studio.engine.starter.model import labels_to_onehot, load_starter
    from studio.engine.starter.sampling import sample

    loaded = load_starter(MODELS / "starter-diffusion")
    size = loaded.cfg.native_size
    onehot = labels_to_onehot(_sky_over_grass(size), size)[None]
    style = vocab.style_id("day", "clear", "summer")
    gen = torch.Generator().manual_seed(0)
    picture = sample(loaded, onehot, [style], num_inference_steps=8, generator=gen)[0]
    assert picture.shape == (size, size, 3)
    _sky_and_grass_look_right(picture)
