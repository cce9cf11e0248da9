"""Canvas tools driven with QTest mouse and synthetic tablet events: pixels and undo steps."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from studio.document.document import Document
from studio.ui.canvas.tool_settings import ToolSettings
from studio.ui.canvas.tools import TOOL_CLASSES
from studio.ui.canvas.view import CanvasView

ZOOM, OFFSET = 2.0, QPointF(10, 10)


@pytest.fixture
def rig(qtbot):
    doc = Document(64, 48)
    settings = ToolSettings()
    canvas = CanvasView(doc)
    canvas.resize(300, 260)
    qtbot.addWidget(canvas)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.zoom, canvas.offset = ZOOM, QPointF(OFFSET)
    tools = {cls.name: cls(doc, settings) for cls in TOOL_CLASSES}
    yield doc, settings, canvas, tools
    canvas.close()


def at(x: float, y: float) -> QPoint:
    """Widget position of the centre of document pixel (x, y)."""
    return QPoint(round(OFFSET.x() + (x + 0.5) * ZOOM), round(OFFSET.y() + (y + 0.5) * ZOOM))


def drag(canvas, points, modifiers=Qt.KeyboardModifier.NoModifier):
    left = Qt.MouseButton.LeftButton
    QTest.mousePress(canvas, left, modifiers, at(*points[0]))
    for p in points[1:]:
        QTest.mouseMove(canvas, at(*p))
    QTest.mouseRelease(canvas, left, modifiers, at(*points[-1]))


def test_brush_drag_paints_one_undo_step_and_undo_restores_bytes(rig):
    doc, settings, canvas, tools = rig
    canvas.set_tool(tools["brush"])
    settings.color, settings.size, settings.hardness = (255, 0, 0), 6, 1.0
    layer = doc.layers[0]
    original = layer.pixels.copy()
    drag(canvas, [(10, 20), (20, 20), (30, 20)])
    assert tuple(layer.pixels[20, 20]) == (255, 0, 0, 255)
    assert tuple(layer.pixels[20, 45]) == (255, 255, 255, 255)
    assert tuple(layer.pixels[5, 20]) == (255, 255, 255, 255)
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert layer.pixels.tobytes() == original.tobytes()


def test_label_brush_is_hard_and_shift_click_draws_a_line(rig):
    doc, settings, canvas, tools = rig
    labels = doc.add_label_layer()
    canvas.set_tool(tools["brush"])
    settings.set_label(5)
    settings.size, settings.hardness, settings.opacity = 4, 0.0, 0.4
    drag(canvas, [(5, 5)])
    drag(canvas, [(40, 5)], Qt.KeyboardModifier.ShiftModifier)
    assert set(np.unique(labels.pixels).tolist()) == {0, 5}
    assert (labels.pixels[5, 5:41] == 5).all()  # the line joined both clicks
    assert doc.undo_stack.count() == 3  # add layer + two strokes


def test_fill_and_eyedropper_on_a_label_layer(rig):
    doc, settings, canvas, tools = rig
    labels = doc.add_label_layer()
    labels.pixels[:, 32] = 9  # a border
    canvas.set_tool(tools["fill"])
    settings.set_label(3)
    drag(canvas, [(5, 5)])
    assert (labels.pixels[:, :32] == 3).all() and (labels.pixels[:, 33:] == 0).all()
    assert doc.undo_stack.count() == 2
    canvas.set_tool(tools["eyedropper"])
    drag(canvas, [(32, 10)])
    assert settings.label_value == 9


def test_eraser_on_a_mask_and_locked_layers_refuse(rig):
    doc, settings, canvas, tools = rig
    mask = doc.add_mask_layer()
    mask.pixels[:] = 255
    canvas.set_tool(tools["eraser"])
    settings.size, settings.hardness = 8, 1.0
    drag(canvas, [(20, 20)])
    assert mask.pixels[20, 20] == 0 and mask.pixels[0, 0] == 255
    doc.set_locked(mask.id, True)
    notes = []
    settings.notice.connect(notes.append)
    count = doc.undo_stack.count()
    drag(canvas, [(40, 40)])
    assert mask.pixels[40, 40] == 255 and doc.undo_stack.count() == count
    assert "locked" in notes[0]


def test_rectangle_and_lasso_selection(rig):
    doc, settings, canvas, tools = rig
    canvas.set_tool(tools["select_rect"])
    drag(canvas, [(4, 4), (10, 8), (14, 12)])
    sel = doc.selection
    assert sel is not None and sel[5, 5] and sel[11, 13] and not sel[12, 14] and not sel[3, 3]
    canvas.set_tool(tools["select_lasso"])
    drag(canvas, [(30, 10), (50, 10), (50, 30), (30, 30)])
    assert doc.selection[20, 40] and not doc.selection[5, 5]
    doc.undo_stack.undo()
    assert doc.selection[5, 5]


def _tablet(canvas, kind, x, y, pressure):
    device = QPointingDevice(
        "pen",
        1,
        QInputDevice.DeviceType.Stylus,
        QPointingDevice.PointerType.Pen,
        QInputDevice.Capability.Position | QInputDevice.Capability.Pressure,
        1,
        3,
    )
    pos = QPointF(at(x, y))
    button = Qt.MouseButton.LeftButton
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.TabletRelease else button
    event = QTabletEvent(
        kind,
        device,
        pos,
        canvas.mapToGlobal(pos),
        pressure,
        0,
        0,
        0,
        0,
        0,
        Qt.KeyboardModifier.NoModifier,
        button,
        buttons,
    )
    QApplication.sendEvent(canvas, event)
    return event


def test_tablet_pressure_sets_the_brush_size(rig):
    doc, settings, canvas, tools = rig
    canvas.set_tool(tools["brush"])
    mask = doc.add_mask_layer()
    settings.size, settings.hardness = 20, 1.0
    _tablet(canvas, QEvent.Type.TabletPress, 15, 15, 0.2)
    _tablet(canvas, QEvent.Type.TabletRelease, 15, 15, 0.2)
    light = int((mask.pixels > 0).sum())
    _tablet(canvas, QEvent.Type.TabletPress, 45, 30, 1.0)
    _tablet(canvas, QEvent.Type.TabletRelease, 45, 30, 1.0)
    heavy = int((mask.pixels > 0).sum()) - light
    assert 0 < light < heavy / 5  # radius 2 px vs 10 px
    assert doc.undo_stack.count() == 3


def test_brush_outline_follows_the_cursor(rig):
    doc, settings, canvas, tools = rig
    canvas.set_tool(tools["brush"])
    QTest.mouseMove(canvas, at(20, 20))
    assert canvas._hover is not None
    assert canvas.to_document(canvas._hover).x() == pytest.approx(20.5, abs=0.5)


def test_live_painting_updates_only_a_region_and_matches_the_full_composite(rig):
    from studio.ui.canvas.qimage import array_from_qimage

    doc, settings, canvas, tools = rig
    labels = doc.add_label_layer()
    canvas.set_tool(tools["brush"])
    settings.set_label(4)
    settings.size = 6
    regions = []
    doc.region_changed.connect(lambda *r: regions.append(r))
    full_refreshes = []
    doc.layers_changed.connect(lambda: full_refreshes.append(1))
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mousePress(canvas, left, none, at(10, 10))
    QTest.mouseMove(canvas, at(30, 12))
    assert regions and all((r[2] - r[0]) * (r[3] - r[1]) < 64 * 48 / 2 for r in regions)
    assert not full_refreshes  # no full recomposite while the stroke is live
    assert np.array_equal(array_from_qimage(canvas._image), doc.composite())
    QTest.mouseRelease(canvas, left, none, at(30, 12))
    assert labels.pixels[11, 20] == 4


def test_pressure_to_opacity_instead_of_size(rig):
    doc, settings, canvas, tools = rig
    canvas.set_tool(tools["brush"])
    mask = doc.add_mask_layer()
    settings.size, settings.hardness = 10, 1.0
    settings.pressure_size, settings.pressure_opacity = False, True
    _tablet(canvas, QEvent.Type.TabletPress, 20, 20, 0.5)
    _tablet(canvas, QEvent.Type.TabletRelease, 20, 20, 0.5)
    assert mask.pixels[20, 20] == 128  # half pressure, half opacity
    assert (mask.pixels > 0).sum() > 60  # full size (radius 5)


def test_fill_respects_the_selection(rig):
    doc, settings, canvas, tools = rig
    mask = doc.add_mask_layer()
    canvas.set_tool(tools["select_rect"])
    drag(canvas, [(0, 0), (8, 8)])
    canvas.set_tool(tools["fill"])
    drag(canvas, [(30, 30)])
    assert (
        mask.pixels[:8, :8].all() and mask.pixels[8:].sum() == 0 and mask.pixels[:, 8:].sum() == 0
    )
