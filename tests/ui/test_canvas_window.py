"""The painting features inside the real main window: shortcuts, panels, files, drops."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest

from studio.app.main import build_window
from studio.document.layers import LABEL
from tests.fakes import FakeEngine


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = build_window(FakeEngine(steps=2), settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    win.canvas.setFocus()
    yield win
    win.close()


def key(win, k, mod=Qt.KeyboardModifier.NoModifier):
    QTest.keyClick(win.canvas, k, mod)


def test_tool_shortcuts_size_keys_and_swap(window):
    key(window, Qt.Key.Key_E)
    assert window.canvas.tool.name == "eraser" and window.actions["tool_eraser"].isChecked()
    key(window, Qt.Key.Key_G)
    assert window.canvas.tool.name == "fill"
    key(window, Qt.Key.Key_I)
    assert window.canvas.tool.name == "eyedropper"
    key(window, Qt.Key.Key_B)
    assert window.canvas.tool.name == "brush"
    size = window.tool_settings.size
    key(window, Qt.Key.Key_BracketRight)
    assert window.tool_settings.size > size
    assert window.tool_bar.size_spin.value() == round(window.tool_settings.size)
    key(window, Qt.Key.Key_BracketLeft)
    key(window, Qt.Key.Key_BracketLeft)
    assert window.tool_settings.size < size
    window.tool_settings.color = (1, 2, 3)
    key(window, Qt.Key.Key_X)
    assert window.tool_settings.color == (255, 255, 255)
    assert window.tool_settings.background == (1, 2, 3)


def test_shortcuts_are_configurable_through_qsettings(window):
    window.settings_store.setValue("shortcuts/tool_fill", "F")
    window.apply_shortcuts()
    key(window, Qt.Key.Key_F)
    assert window.canvas.tool.name == "fill"
    key(window, Qt.Key.Key_B)
    key(window, Qt.Key.Key_G)  # the old key no longer selects fill
    assert window.canvas.tool.name == "brush"


def test_preferences_refuse_a_shortcut_used_twice(window):
    from studio.ui.preferences import PreferencesDialog

    dialog = PreferencesDialog(window.settings_store, window)
    table = dialog.shortcut_table
    rows = {table.item(r, 0).data(Qt.ItemDataRole.UserRole): r for r in range(table.rowCount())}
    table.item(rows["tool_fill"], 1).setText("B")
    dialog.accept()
    assert "Used twice" in dialog.problem.text()
    assert window.settings_store.value("shortcuts/tool_fill") is None
    table.item(rows["tool_fill"], 1).setText("Shift+G")
    dialog.accept()
    assert window.settings_store.value("shortcuts/tool_fill") == "Shift+G"
    dialog.close()


def test_palette_panel_keyboard_search_paints_that_class(window, qtbot):
    doc = window.document
    labels = doc.add_label_layer()
    panel = window.palette_panel
    first = labels.palette.entries[0]
    assert window.tool_settings.label_value == first.value  # a new label layer can paint at once
    panel.search.setFocus()
    QTest.keyClicks(panel.search, "roa")
    assert [panel.list.item(i).text() for i in range(panel.list.count())] == ["road"]
    QTest.keyClick(panel.search, Qt.Key.Key_Return)
    road = labels.palette.search("road")[0]
    assert window.tool_settings.label_value == road.value
    assert panel.recent.item(0).text() == "road" and "road" in panel.current_label.text()
    panel.search.clear()
    QTest.keyClick(panel.search, Qt.Key.Key_Down)
    QTest.keyClick(panel.search, Qt.Key.Key_Return)
    assert window.tool_settings.label_value == labels.palette.entries[1].value
    # paint with it on the canvas
    c = window.canvas
    c.zoom, c.offset = 1.0, QPointF(0, 0)
    QTest.mousePress(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(50, 50))
    QTest.mouseRelease(c, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(50, 50))
    assert labels.pixels[50, 50] == labels.palette.entries[1].value


def test_overlay_opacity_slider_drag_is_one_undo_step(window):
    doc = window.document
    labels = doc.add_label_layer()
    slider = window.palette_panel.opacity
    count = doc.undo_stack.count()
    slider.setSliderDown(True)
    window.palette_panel._new_drag()
    for v in (50, 40, 30, 20):
        slider.setValue(v)
    slider.setSliderDown(False)
    assert labels.opacity == pytest.approx(0.2)
    assert doc.undo_stack.count() == count + 1
    window.actions["labels_alone"].trigger()
    assert doc.labels_alone and window.palette_panel.alone.isChecked()


def test_layers_panel_add_duplicate_reorder_lock(window):
    doc, panel = window.document, window.layers_panel
    panel.add_label.click()
    panel.add_mask.click()
    panel.duplicate_button.click()
    assert [x.kind for x in doc.layers] == ["raster", "label", "mask", "mask"]
    panel.down_button.click()
    panel.down_button.click()
    assert doc.layers[1].name == "Mask copy"
    panel.lock.setChecked(True)
    assert doc.layers[1].locked
    item = panel.list.item(2)  # rows are top-first: row 2 is stack index 1
    assert item.text() == "Mask copy"
    item.setText("Hole")
    assert doc.layers[1].name == "Hole"
    doc.undo_stack.undo()
    assert doc.layers[1].name == "Mask copy"


def test_save_new_open_round_trip_with_shortcuts(window, tmp_path, monkeypatch):
    doc = window.document
    labels = doc.add_label_layer()
    labels.pixels[3:9, 4:20] = 7
    path = tmp_path / "work.studio"
    monkeypatch.setattr(
        "studio.ui.saving.QFileDialog.getSaveFileName", lambda *a, **k: (str(path), "")
    )
    key(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert doc.undo_stack.isClean()  # at once: the state being written is the saved one
    assert window.saver.wait(10) and path.exists()
    window.new_document((768, 768))
    assert (doc.width, doc.height) == (768, 768) and len(doc.layers) == 1
    window.open_file(str(path))
    assert (doc.width, doc.height) == (512, 512)
    assert doc.layers[1].kind == LABEL and doc.layers[1].pixels.tobytes() == labels.pixels.tobytes()


def test_delete_clears_the_selection_on_the_active_layer(window):
    doc = window.document
    key(window, Qt.Key.Key_M)
    c = window.canvas
    c.zoom, c.offset = 1.0, QPointF(0, 0)
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mousePress(c, left, none, QPoint(10, 10))
    QTest.mouseMove(c, QPoint(30, 30))
    QTest.mouseRelease(c, left, none, QPoint(30, 30))
    key(window, Qt.Key.Key_Delete)
    bg = doc.layers[0].pixels
    assert bg[20, 20, 3] == 0 and bg[40, 40, 3] == 255
    window.selection_to_mask()
    assert doc.layers[-1].kind == "mask" and doc.layers[-1].pixels[20, 20] == 255
    window.mask_operation("invert")
    assert doc.layers[-1].pixels[20, 20] == 0


def _drop(target, paths):
    """Qt only routes drop events during a real drag, so call the handlers it would call."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPoint(target.width() // 2, target.height() // 2)
    buttons, mods = Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, buttons, mods)
    target.dragEnterEvent(enter)
    assert enter.isAccepted()
    target.dropEvent(QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, buttons, mods))


def test_drop_on_canvas_adds_a_layer_and_on_window_opens_a_document(window, tmp_path):
    img = np.zeros((20, 30, 3), np.uint8)
    img[:, :, 1] = 200
    Image.fromarray(img).save(tmp_path / "green.png")
    _drop(window.canvas, [tmp_path / "green.png"])
    doc = window.document
    assert doc.layers[-1].name == "green" and tuple(doc.layers[-1].pixels[5, 5]) == (0, 200, 0, 255)
    assert doc.layers[-1].pixels[25, 5, 3] == 0  # padded to the canvas, transparent
    doc.undo_stack.setClean()
    _drop(window, [tmp_path / "green.png"])
    assert (doc.width, doc.height) == (30, 20) and len(doc.layers) == 1


def test_import_of_a_damaged_image_shows_the_banner(window, tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    window.import_layer(str(tmp_path / "bad.png"))
    assert "bad.png" in window.banner.message


def test_new_document_dialog_presets_and_custom(window):
    from studio.ui.new_document import NewDocumentDialog

    dialog = NewDocumentDialog(window)
    texts = [dialog.preset.itemText(i) for i in range(dialog.preset.count())]
    assert [t.split(" (")[0] for t in texts] == [
        "512 × 512",
        "768 × 768",
        "1024 × 1024",
        "1216 × 832",
        "Custom",
    ]
    dialog.preset.setCurrentIndex(3)
    assert dialog.chosen_size() == (1216, 832)
    dialog.width_spin.setValue(640)
    assert dialog.preset.currentText() == "Custom" and dialog.chosen_size() == (640, 832)
    dialog.height_spin.setValue(640)
    dialog.width_spin.setValue(768)
    dialog.height_spin.setValue(768)
    assert dialog.preset.currentIndex() == 1
    dialog.close()


def test_dragging_a_layer_row_reorders_as_one_undo_step(window):
    doc, panel = window.document, window.layers_panel
    a = doc.add_mask_layer("A")
    doc.add_mask_layer("B")
    count = doc.undo_stack.count()
    panel.row_moved(a.id, 0)  # what LayerList.dropEvent reports after a drop at the top row
    assert [x.name for x in doc.layers] == ["Background", "B", "A"]
    assert panel.list.item(0).text() == "A" and doc.undo_stack.count() == count + 1
    doc.undo_stack.undo()
    assert [x.name for x in doc.layers] == ["Background", "A", "B"]


def test_mask_actions_and_label_import_report_in_the_window(window, tmp_path):
    doc = window.document
    mask = doc.add_mask_layer()
    mask.pixels[100:110, 100:110] = 255
    window.actions["mask_grow"].trigger()
    assert mask.pixels[98, 105] == 255 and mask.pixels[90, 105] == 0
    window.actions["mask_feather"].trigger()
    assert 0 < mask.pixels[95, 105] < 255
    count = doc.undo_stack.count()
    window.actions["mask_invert"].trigger()
    assert doc.undo_stack.count() == count + 1
    rgb = np.zeros((512, 512, 3), np.uint8)
    rgb[:256] = doc.default_palette().search("sky")[0].rgb
    rgb[300:310, 40:50] = (91, 13, 161)
    Image.fromarray(rgb).save(tmp_path / "seg.png")
    window.import_labels(str(tmp_path / "seg.png"))
    assert doc.layers[-1].kind == LABEL
    assert "1 colours (100 pixels)" in window.banner.message
    assert "x=40, y=300" in window.banner.details_view.toPlainText()
    window.export_labels(str(tmp_path / "out.png"))
    with Image.open(tmp_path / "out.png") as image:
        assert image.mode == "P"
        assert np.array_equal(np.array(image), doc.layers[-1].pixels.astype(np.uint8))


def test_preferences_autosave_interval_and_history_panel(window):
    from studio.ui.preferences import PreferencesDialog

    dialog = PreferencesDialog(window.settings_store, window)
    dialog.autosave_spin.setValue(30)
    dialog.accept()
    window.preferences_changed()
    assert window.autosaver.timer.interval() == 30_000
    window.tool_bar.pressure_opacity.setChecked(True)
    assert window.tool_settings.pressure_opacity
    doc = window.document
    doc.add_mask_layer("M")
    assert window.history_view.stack() is doc.undo_stack
    assert window.history_view.model().rowCount() == 2  # "Opened" + one step


def test_moving_the_brush_repaints_around_its_circle_not_the_whole_canvas(window, monkeypatch):
    c = window.canvas
    window.set_tool("brush")
    updates = []
    monkeypatch.setattr(c, "update", lambda *args: updates.append(args))
    QTest.mouseMove(c, QPoint(150, 150))
    QTest.mouseMove(c, QPoint(160, 150))
    assert updates and all(len(args) == 1 for args in updates)  # rectangles, never everything
    circle = 2 * window.tool_settings.size * c.zoom + 20
    assert all(a[0].width() <= circle and a[0].height() <= circle for a in updates)
