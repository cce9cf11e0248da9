"""Document operations and undo restore identical bytes."""

from __future__ import annotations

import numpy as np
import pytest

from studio.document.document import Document
from studio.document.layers import LABEL, MASK, Layer, composite, label_layer
from studio.document.paint import BrushSettings, Stroke
from studio.document.palette import load_palette


@pytest.fixture
def doc(qapp):
    return Document(32, 24)


def test_layer_kinds_validate_their_pixels():
    pal = load_palette("Landscape")
    with pytest.raises(ValueError, match="HxW uint16"):
        Layer("l", np.zeros((4, 4), np.uint8), kind=LABEL, palette=pal)
    with pytest.raises(ValueError, match="palette"):
        Layer("l", np.zeros((4, 4), np.uint16), kind=LABEL)
    with pytest.raises(ValueError, match="HxW uint8"):
        Layer("m", np.zeros((4, 4, 4), np.uint8), kind=MASK)


def test_duplicate_rename_reorder_lock_and_undo_all_of_it(doc):
    base = doc.layers[0]
    top = doc.add_label_layer("Labels")
    top.pixels[2:5, 3:7] = 11
    copy = doc.duplicate_layer(top.id)
    assert [x.name for x in doc.layers] == ["Background", "Labels", "Labels copy"]
    assert np.array_equal(copy.pixels, top.pixels) and copy.pixels is not top.pixels
    assert doc.active_layer is copy
    doc.rename_layer(copy.id, "Sky map")
    doc.move_layer(copy.id, 0)
    doc.set_locked(base.id, True)
    assert [x.name for x in doc.layers] == ["Sky map", "Background", "Labels"]
    assert base.locked
    for _ in range(5):
        doc.undo_stack.undo()
    assert [x.name for x in doc.layers] == ["Background"]
    assert not base.locked
    for _ in range(5):
        doc.undo_stack.redo()
    assert [x.name for x in doc.layers] == ["Sky map", "Background", "Labels"]


def test_opacity_drag_merges_into_one_step_but_separate_drags_do_not(doc):
    layer = doc.layers[0]
    for value in (0.9, 0.7, 0.5, 0.3):
        doc.set_opacity(layer.id, value, group=1)
    assert doc.undo_stack.count() == 1
    doc.set_opacity(layer.id, 0.8, group=2)
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    assert layer.opacity == pytest.approx(0.3)
    doc.undo_stack.undo()
    assert layer.opacity == 1.0


def test_stroke_undo_stores_only_the_rectangle_and_restores_identical_bytes(doc):
    layer = doc.layers[0]
    original = layer.pixels.copy()
    stroke = Stroke(layer, BrushSettings(size=4, hardness=1.0), (255, 0, 0))
    for x in range(4, 12):
        stroke.add_point(x, 6.0)
    rect, before = stroke.finish()
    doc.commit_pixels(layer, rect, before, "Brush")
    painted = layer.pixels.copy()
    command = doc.undo_stack.command(0)
    x0, y0, x1, y1 = rect
    assert command.before.shape[:2] == (y1 - y0, x1 - x0)
    assert (x1 - x0) * (y1 - y0) < doc.width * doc.height / 4
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert layer.pixels.tobytes() == original.tobytes()
    doc.undo_stack.redo()
    assert layer.pixels.tobytes() == painted.tobytes()


def test_label_stroke_is_hard_edged_with_exact_ids(doc):
    layer = doc.add_label_layer()
    stroke = Stroke(layer, BrushSettings(size=9, hardness=0.0, opacity=0.3), 13)
    stroke.add_point(10, 10)
    stroke.add_point(20, 10)
    values = set(np.unique(layer.pixels).tolist())
    assert values == {0, 13}  # no in-between ids however soft/transparent the brush is
    assert layer.pixels[10, 15] == 13 and layer.pixels[0, 0] == 0


def test_labels_render_through_the_palette_at_the_overlay_opacity(doc):
    pal = load_palette("Landscape")
    sky = next(e for e in pal.entries if e.name == "sky")
    layer = label_layer("Labels", 32, 24, pal)
    layer.pixels[:, :16] = sky.value
    layer.opacity = 0.5
    white = Layer("bg", np.full((24, 32, 4), 255, np.uint8))
    out = composite([white, layer], 32, 24)
    expected = np.round((np.array(sky.rgb) + 255) / 2)
    assert np.abs(out[5, 5, :3].astype(int) - expected).max() <= 1
    assert tuple(out[5, 20]) == (255, 255, 255, 255)  # unlabeled stays transparent
    alone = composite([white, layer], 32, 24, labels_alone=True)
    assert tuple(alone[5, 5, :3]) == sky.rgb and alone[5, 20, 3] == 0


def test_mask_shows_as_a_tint(doc):
    mask = doc.add_mask_layer("Mask")
    mask.pixels[:, :8] = 255
    doc.layers_changed.emit()
    out = doc.composite()
    assert out[0, 0, 0] > out[0, 0, 1]  # reddish where masked
    assert tuple(out[0, 20]) == (255, 255, 255, 255)


def test_replace_pixels_stores_the_changed_bounding_box(doc):
    mask = doc.add_mask_layer()
    new = mask.pixels.copy()
    new[3:6, 4:9] = 200
    doc.replace_pixels(mask, new, "Grow mask")
    assert doc.undo_stack.command(doc.undo_stack.count() - 1).rect == (4, 3, 9, 6)
    doc.undo_stack.undo()
    assert not mask.pixels.any()
