"""Shipped palettes keep the datasets' classes and colours; colour-coded images map back to ids."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from studio.document.palette import Palette, load_palette, map_colors


def test_ade20k_palette_has_the_exact_controlnet_colours():
    pal = load_palette("ADE20K-150")
    assert len(pal.entries) == 150
    assert pal.entry(3).name == "sky" and pal.entry(3).rgb == (6, 230, 230)
    assert pal.entry(7).rgb == pal.entry(49).rgb == (140, 140, 140)  # road = skyscraper
    # Every (0-based id, name, colour) as in mmsegmentation's ADE20K METAINFO, which
    # build_palettes.py transcribed: any later edit of a class changes this digest.
    rows = [(e.value - 1, e.name, list(e.rgb)) for e in pal.entries]
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
    assert digest == "7355fb188922adc0dcc9a64e9725a36930304f26a2aa76baf4d84834e1826ad6"


def test_cocostuff_and_landscape_palettes():
    coco = load_palette("COCO-Stuff-182")
    assert len(coco.entries) == 182 and coco.entry(106).name == "clouds"
    assert len({e.rgb for e in coco.entries}) == 182
    land = load_palette("Landscape")
    names = [e.name for e in land.entries]
    for need in ("sky", "clouds", "sea", "river", "lake", "mountain", "rock", "snow", "fog"):
        assert need in names
    assert len({e.rgb for e in land.entries}) == len(land.entries)
    sky = land.entries[names.index("sky")]
    assert sky.extra["ade20k"] == 2 and sky.extra["cocostuff"] == 157
    ade = load_palette("ADE20K-150")
    for e in land.entries:  # cross-walk agrees with the ADE palette's names and colours
        if e.extra["ade20k"] is not None:
            assert ade.entry(e.extra["ade20k"] + 1).rgb == e.rgb
        if e.extra["cocostuff"] is not None:
            assert coco.entry(e.extra["cocostuff"]).name == e.extra["cocostuff_name"]


def test_palette_dict_round_trip():
    pal = load_palette("Landscape")
    assert Palette.from_dict(json.loads(json.dumps(pal.to_dict()))) == pal


def test_map_colors_maps_near_colours_and_reports_the_rest():
    pal = load_palette("Landscape")
    sky, grass = pal.search("sky")[0], pal.search("grass")[0]
    img = np.zeros((4, 6, 3), np.uint8)
    img[:2] = sky.rgb
    img[2:] = np.array(grass.rgb) + np.array([3, -3, 2])  # slightly off (JPEG-ish)
    img[3, 4] = (13, 77, 99)  # matches nothing
    img[3, 5] = (13, 77, 99)
    result = map_colors(img, pal)
    assert (result.ids[:2] == sky.value).all() and result.ids[2, 0] == grass.value
    assert result.ids[3, 4] == 0
    assert result.unmatched_pixels == 2
    assert result.unmatched_colors == [((13, 77, 99), 2, (4, 3))]


@pytest.mark.parametrize("name", ["Landscape", "ADE20K-150", "COCO-Stuff-182"])
def test_palette_search(name):
    pal = load_palette(name)
    assert all("sky" in e.name for e in pal.search("SKY"))
    assert len(pal.search("")) == len(pal.entries)


def test_black_means_unlabeled_unless_the_palette_uses_it():
    pal = load_palette("Landscape")
    img = np.zeros((2, 2, 3), np.uint8)
    img[0, 0] = pal.entries[0].rgb
    result = map_colors(img, pal)
    assert result.ids.tolist() == [[pal.entries[0].value, 0], [0, 0]]
    assert result.unmatched_pixels == 0
