"""Fill, masks and selections as pixel maths."""

from __future__ import annotations

import numpy as np

from studio.document.layers import RASTER, Layer, label_layer, mask_layer
from studio.document.paint import (
    BrushSettings,
    Stroke,
    feather_mask,
    fill_pixels,
    flood_region,
    grow_mask,
    invert_mask,
    polygon_mask,
    shrink_mask,
)
from studio.document.palette import load_palette


def test_label_fill_is_exact_id_and_4_connected():
    layer = label_layer("l", 10, 10, load_palette("Landscape"))
    layer.pixels[:, 5] = 3  # a wall splitting the map
    layer.pixels[0, 0] = 4
    region = flood_region(layer, 1, 1)
    assert region[:, :5].sum() == 49 and not region[:, 5:].any()
    out = fill_pixels(layer, region, 7)
    assert out[1, 1] == 7 and out[0, 0] == 4 and out[9, 9] == 0


def test_raster_fill_uses_the_tolerance():
    px = np.zeros((4, 4, 4), np.uint8)
    px[:, :2] = (100, 100, 100, 255)
    px[:, 2:] = (110, 100, 100, 255)
    layer = Layer("r", px, kind=RASTER)
    assert flood_region(layer, 0, 0, tolerance=5).sum() == 8
    assert flood_region(layer, 0, 0, tolerance=10).sum() == 16


def test_soft_brush_on_a_mask_and_stroke_opacity_does_not_build_up():
    layer = mask_layer("m", 40, 20)
    stroke = Stroke(layer, BrushSettings(size=10, hardness=0.2, opacity=0.5), 255)
    for x in range(5, 30):
        stroke.add_point(float(x), 10.0)  # many overlapping dabs
    assert layer.pixels.max() == 128  # round(255 * 0.5): never above the stroke opacity
    values = np.unique(layer.pixels)
    assert len(values) > 3  # soft edge: in-between values exist


def test_eraser_on_raster_lowers_alpha():
    layer = Layer("r", np.full((10, 10, 4), 255, np.uint8))
    stroke = Stroke(layer, BrushSettings(size=4, hardness=1.0), (0, 0, 0), eraser=True)
    stroke.add_point(5, 5)
    assert layer.pixels[5, 5, 3] == 0 and layer.pixels[0, 0, 3] == 255
    assert tuple(layer.pixels[5, 5, :3]) == (255, 255, 255)


def test_pressure_scales_the_brush_size():
    small, big = mask_layer("a", 40, 40), mask_layer("b", 40, 40)
    Stroke(small, BrushSettings(size=20, hardness=1.0), 255).add_point(20, 20, pressure=0.25)
    Stroke(big, BrushSettings(size=20, hardness=1.0), 255).add_point(20, 20, pressure=1.0)
    assert 0 < (small.pixels > 0).sum() < (big.pixels > 0).sum() / 8


def test_mask_grow_shrink_invert_feather():
    mask = np.zeros((21, 21), np.uint8)
    mask[10, 10] = 255
    grown = grow_mask(mask, 3)
    assert grown[10, 13] == 255 and grown[10, 14] == 0 and grown[12, 12] == 255
    assert np.array_equal(shrink_mask(grown, 3), mask)
    assert invert_mask(mask)[10, 10] == 0 and invert_mask(mask)[0, 0] == 255
    block = np.zeros((20, 20), np.uint8)
    block[:, 10:] = 255
    soft = feather_mask(block, 4)
    assert soft[5, 0] == 0 and soft[5, 19] == 255 and 0 < soft[5, 10] < 255


def test_lasso_polygon_rasterises_the_inside():
    tri = polygon_mask([(0, 0), (10, 0), (0, 10)], 12, 12)
    assert tri[1, 1] and not tri[9, 9] and not tri[11, 11]


def test_strokes_stay_inside_the_selection():
    layer = mask_layer("m", 20, 10)
    selection = np.zeros((10, 20), bool)
    selection[:, :10] = True
    stroke = Stroke(layer, BrushSettings(size=6, hardness=1.0), 255, limit=selection)
    stroke.add_point(2, 5)
    stroke.add_point(18, 5)
    assert layer.pixels[5, 5] == 255 and not layer.pixels[:, 10:].any()
