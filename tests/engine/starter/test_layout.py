"""Layout label maps: vertical order, class frequencies, asked-for materials are prominent."""

from __future__ import annotations

import numpy as np
import pytest

from studio.engine.starter.layout import V, sample_layout
from studio.engine.starter.vocab import MATERIALS


def test_sky_on_top_ground_at_bottom():
    for seed in range(20):
        lab, style = sample_layout(np.random.default_rng(seed), (96, 128))
        assert lab.dtype == np.uint16 and lab.shape == (96, 128)
        assert np.isin(lab[0], (V["sky"], V["clouds"], V["fog"])).all()
        assert not np.isin(lab[-1], (V["sky"], V["clouds"], V["mountain"])).any()
        assert 0 < style["horizon"] < 96


def test_common_classes_all_appear_over_many_layouts():
    seen = np.zeros(len(MATERIALS) + 1, bool)
    for seed in range(150):
        lab, _ = sample_layout(np.random.default_rng(seed), (64, 64))
        seen[np.unique(lab)] = True
    for name in (
        "sky",
        "clouds",
        "mountain",
        "hill",
        "rock",
        "sea",
        "lake",
        "river",
        "sand",
        "grass",
        "field",
        "flower",
        "tree",
        "bush",
        "snow",
        "dirt",
        "road",
        "path",
    ):
        assert seen[V[name]], name
    assert not seen[0]


@pytest.mark.parametrize("name", MATERIALS)
def test_asked_for_material_is_prominent(name):
    for seed in range(3):
        lab, _ = sample_layout(np.random.default_rng(seed), (96, 96), (name,))
        assert (lab == V[name]).mean() >= 0.01, (name, seed)


def test_two_materials_together_and_unknown_rejected():
    lab, _ = sample_layout(np.random.default_rng(0), (96, 96), ("mountain", "lake"))
    assert (lab == V["mountain"]).mean() > 0.02 and (lab == V["lake"]).mean() > 0.02
    with pytest.raises(ValueError, match="Unknown materials"):
        sample_layout(np.random.default_rng(0), (64, 64), ("volcano",))


def test_deterministic():
    a, _ = sample_layout(np.random.default_rng(11), (64, 80), ("tree",))
    b, _ = sample_layout(np.random.default_rng(11), (64, 80), ("tree",))
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize(
    "names",
    [
        ("mountain", "lake"),
        ("sea", "lake"),
        ("river", "bridge"),
        ("sand", "river"),
        ("sea", "water"),
        ("house", "rock", "tree"),
        ("fog", "hill"),
        ("snow", "road", "field"),
    ],
)
def test_combinations_are_all_there(names):
    for seed in range(3):
        lab, _ = sample_layout(np.random.default_rng(seed), (64, 64), names)
        for name in names:
            assert (lab == V[name]).mean() >= 0.005, (names, name, seed)
