"""The main window driven like a user would, with pytest-qt (offscreen)."""

from __future__ import annotations

import threading

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest

from tests.fakes import FakeEngine
from tests.ui.conftest import press_generate


def test_without_models_the_window_says_where_to_put_one(no_bundled_models, make_window, qtbot):
    window = make_window()
    assert "No model installed" in window.canvas._placeholder
    assert "models" in window.canvas._placeholder
    assert window.prompt_panel.model_combo.currentText() == "No model installed"
    press_generate(qtbot, window)
    assert "No model is installed yet" in window.banner.message
    assert len(window.document.layers) == 1


def test_ctrl_enter_streams_previews_then_lands_a_layer(make_window, qtbot, tiny_sd_path):
    window = make_window(FakeEngine(steps=6, step_delay=0.08), models=tiny_sd_path)
    window.prompt_panel.prompt_edit.setPlainText("a windmill")
    seen = {"preview": False, "status": ""}

    def watch(payload):
        if payload is not None:
            seen["preview"] = window.canvas.showing_preview

    window.session.preview_changed.connect(watch)
    window.session.progress_changed.connect(
        lambda p: seen.update(status=window.step_label.text()) if p and p.step else None
    )
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(window.document.layers) == 2, timeout=5000)
    assert seen["preview"]
    assert "step" in seen["status"] and "it/s" in seen["status"] and "ETA" in seen["status"]
    assert window.document.layers[-1].name == "Prompt: a windmill"
    assert not window.canvas.showing_preview
    assert window.step_label.text() == "Idle"
    assert window.layers_panel.list.item(0).text() == "Prompt: a windmill"


def test_esc_cancels_and_keeps_a_draft(make_window, qtbot, tiny_sd_path):
    window = make_window(FakeEngine(steps=500, step_delay=0.01), models=tiny_sd_path)
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: window.canvas.showing_preview, timeout=5000)
    assert window.prompt_panel.cancel_button.isEnabled()
    QTest.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: len(window.document.layers) == 2, timeout=5000)
    assert window.document.layers[-1].draft
    assert window.document.layers[-1].name.startswith("Draft (step")


def test_undo_and_redo_shortcuts(make_window, qtbot, tiny_sd_path):
    window = make_window(models=tiny_sd_path)
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(window.document.layers) == 2, timeout=5000)
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(window.document.layers) == 1
    QTest.keyClick(
        window,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert len(window.document.layers) == 2


def test_queue_is_visible_and_waiting_jobs_can_be_removed(make_window, qtbot, tiny_sd_path):
    gate = threading.Event()
    engine = FakeEngine(steps=1, gate=gate)
    window = make_window(engine, models=tiny_sd_path)
    panel = window.prompt_panel
    for _ in range(3):
        panel.generate_button.click()
    qtbot.waitUntil(lambda: panel.queue_label.text() == "Queue: 1 running, 2 waiting")
    assert panel.queue_list.count() == 3
    panel.queue_list.setCurrentRow(0)
    assert not panel.remove_button.isEnabled()  # the running job is cancelled, not removed
    panel.queue_list.setCurrentRow(1)
    assert panel.remove_button.isEnabled()
    panel.remove_button.click()
    qtbot.waitUntil(lambda: panel.queue_list.count() == 2)
    gate.set()
    qtbot.waitUntil(lambda: len(window.document.layers) == 3, timeout=5000)
    assert len(engine.runs) == 2
    qtbot.waitUntil(lambda: panel.queue_label.text() == "Queue: empty")


def test_canvas_stays_interactive_while_a_job_runs(make_window, qtbot, tiny_sd_path):
    gate = threading.Event()
    window = make_window(FakeEngine(steps=1, gate=gate), models=tiny_sd_path)
    press_generate(qtbot, window)
    canvas = window.canvas
    before = canvas.zoom
    pos = QPointF(canvas.width() / 2, canvas.height() / 2)
    event = QWheelEvent(
        pos,
        canvas.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QTest.qWait(20)
    from PySide6.QtWidgets import QApplication

    QApplication.sendEvent(canvas, event)
    assert canvas.zoom == pytest.approx(before * 1.15)
    offset = QPointF(canvas.offset)
    QTest.mousePress(canvas, Qt.MouseButton.MiddleButton, pos=QPoint(100, 100))
    QTest.mouseMove(canvas, QPoint(140, 120))
    QTest.mouseRelease(canvas, Qt.MouseButton.MiddleButton, pos=QPoint(140, 120))
    assert canvas.offset - offset == QPointF(40, 20)
    assert window.session.worker.is_busy()
    gate.set()
    qtbot.waitUntil(lambda: len(window.document.layers) == 2, timeout=5000)


def test_error_banner_shows_details_on_demand(make_window, qtbot, tiny_sd_path):
    window = make_window(FakeEngine(fail_with=ZeroDivisionError("boom")), models=tiny_sd_path)
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=5000)
    assert "ZeroDivisionError: boom" in window.banner.message
    assert not window.banner.details_view.isVisible()
    window.banner.details_button.click()
    assert window.banner.details_view.isVisible()
    assert "Traceback" in window.banner.details_view.toPlainText()
    window.banner.close_button.click()
    assert not window.banner.isVisible()
    window.banner.show_error("x")
    assert window.prompt_panel.generate_button.isEnabled()  # nothing modal, app usable


def test_export_canvas_and_layer_carry_the_recipe(make_window, qtbot, tiny_sd_path, tmp_path):
    window = make_window(models=tiny_sd_path)
    window.prompt_panel.prompt_edit.setPlainText("harbour at night")
    window.prompt_panel.random_check.setChecked(False)
    window.prompt_panel.seed_edit.setText("4242")
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(window.document.layers) == 2, timeout=5000)
    window.export_canvas(str(tmp_path / "canvas.png"))
    window.export_layer(str(tmp_path / "layer.png"))
    assert window.saver.wait(10)  # written on the file thread
    for name in ("canvas.png", "layer.png"):
        with Image.open(tmp_path / name) as image:
            assert image.size == (64, 64)
            assert image.text["parameters"].startswith("harbour at night\nSteps: 20")
            assert "Seed: 4242" in image.text["parameters"]


def test_settings_and_geometry_survive_a_restart(make_window, qtbot):
    first = make_window(settings_name="s.ini")
    first.prompt_panel.prompt_edit.setPlainText("remember me")
    first.prompt_panel.steps_spin.setValue(33)
    first.resize(640, 480)  # the offscreen screen is 800x600
    qtbot.wait(20)
    expected = (first.width(), first.height())
    assert expected != (800, 600)
    first.close()
    second = make_window(settings_name="s.ini")
    assert second.prompt_panel.prompt_edit.toPlainText() == "remember me"
    assert second.prompt_panel.steps_spin.value() == 33
    assert (second.width(), second.height()) == expected


def test_real_tiny_pipeline_end_to_end_in_the_window(make_window, qtbot, tiny_sd_path):
    from studio.app.main import make_engine

    window = make_window(make_engine(), models=tiny_sd_path)
    window.session.settings.dtype = "float32"
    panel = window.prompt_panel
    panel.steps_spin.setValue(4)
    panel.prompt_edit.setPlainText("a tiny test")
    steps = []
    window.session.progress_changed.connect(lambda p: steps.append(p.step) if p else None)
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(window.document.layers) == 2, timeout=60000)
    layer = window.document.layers[-1]
    assert layer.metadata["steps_done"] == 4 and layer.metadata["dtype"] == "float32"
    assert 1 <= max(steps) <= 4  # throttled: the final preview may be superseded by the result
    assert "cpu · float32" in window.model_label.text()


def test_dropping_a_png_on_the_generate_panel_loads_its_settings(make_window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    from tests.io.test_settings_from_png import A1111, png_with_text

    png_with_text(tmp_path / "found.png", parameters=A1111)
    window = make_window()
    panel = window.prompt_panel
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "found.png"))])

    def event(cls):
        # QDragEnterEvent takes a QPoint (PySide6 < 6.12), QDropEvent a QPointF
        return cls(
            QPoint(10, 10) if cls is QDragEnterEvent else QPointF(10, 10),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )

    enter = event(QDragEnterEvent)
    panel.prompt_edit.dragEnterEvent(enter)
    assert not enter.isAccepted()  # the text box leaves PNGs to the panel
    enter = event(QDragEnterEvent)
    panel.dragEnterEvent(enter)
    assert enter.isAccepted()
    # real drag-and-drop cannot be driven offscreen: deliver the drop to the handler
    panel.dropEvent(event(QDropEvent))
    assert not window.banner.message, window.banner.details_view.toPlainText()
    assert panel.prompt_edit.toPlainText() == "a castle on a hill,\nmisty morning"
    assert panel.negative_edit.toPlainText() == "blurry, low quality"
    assert panel.steps_spin.value() == 28 and panel.cfg_spin.value() == 6.5
    assert panel.seed_edit.text() == "1234567890" and not panel.random_check.isChecked()
    assert (panel.width_spin.value(), panel.height_spin.value()) == (768, 512)
    assert panel.sampler_combo.currentText() == "DPM++ 2M Karras"
    assert "dreamy_v2" in window.statusBar().currentMessage()  # the model is not installed


def test_rerun_exactly_reproduces_the_active_layer(make_window, qtbot, tiny_sd_path):
    import numpy as np

    from studio.app.main import make_engine

    window = make_window(make_engine(), models=tiny_sd_path)
    window.session.settings.dtype = "float32"
    panel = window.prompt_panel
    panel.steps_spin.setValue(3)
    panel.prompt_edit.setPlainText("rerun me")
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(window.document.layers) == 2, timeout=60000)
    first = window.document.layers[-1]
    panel.prompt_edit.setPlainText("something else")  # the recipe, not the panel, is re-run
    QTest.keyClick(
        window,
        Qt.Key.Key_R,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(lambda: len(window.document.layers) == 3, timeout=60000)
    again = window.document.layers[-1]
    assert again.name == "Re-run: rerun me"
    assert np.array_equal(again.pixels, first.pixels)
    assert again.metadata["seed"] == first.metadata["seed"]
    window.document.set_active_layer(window.document.layers[0].id)  # the painted background
    window.session.rerun_exactly(window.document.active_layer)
    assert "no generation recipe" in window.banner.message


def test_keys_switch_modes_reach_the_prompt_and_find_a_class(make_window, qtbot):
    window = make_window()
    window.canvas.setFocus()
    for key, mode in ((Qt.Key.Key_2, "paint"), (Qt.Key.Key_3, "inpaint"), (Qt.Key.Key_1, "prompt")):
        QTest.keyClick(window, key, Qt.KeyboardModifier.AltModifier)
        assert window.prompt_panel.mode() == mode == window.session.settings.mode
    window.prompt_panel.prompt_edit.setPlainText("old words")
    window.canvas.setFocus()
    QTest.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    edit = window.prompt_panel.prompt_edit
    assert edit.hasFocus() and edit.textCursor().selectedText() == "old words"
    QTest.keyClicks(edit, "a lake")
    assert edit.toPlainText() == "a lake"
    window.document.add_label_layer()
    QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    search = window.palette_panel.search
    assert search.hasFocus()
    QTest.keyClicks(search, "water")
    QTest.keyClick(search, Qt.Key.Key_Return)
    assert window.palette_panel.current_label.text().startswith("Painting: water")
