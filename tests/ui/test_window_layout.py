"""The window on first start (screen-filling, canvas first, Timeline a strip) and on restart."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication

from studio.app.main import build_window
from tests.fakes import FakeEngine
from tests.ui.test_timeline import generate, timeline_window


def _window(qtbot, tmp_path, engine=None):
    settings = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    window = build_window(engine or FakeEngine(steps=2), settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(50)
    return window


def test_first_start_fills_the_screen_and_gives_the_canvas_the_room(qtbot, tmp_path):
    window = _window(qtbot, tmp_path)
    screen = QGuiApplication.primaryScreen().availableGeometry()
    assert abs(window.width() - screen.width()) <= 8 and abs(window.height() - screen.height()) <= 8
    right = Qt.DockWidgetArea.RightDockWidgetArea
    for dock in (window.generate_dock, window.layers_dock, window.palette_dock):
        assert window.dockWidgetArea(dock) == right  # one column: the canvas keeps the width
    panel = window.timeline_panel
    assert panel.compact and not panel.details.isVisible() and panel.slider.isVisible()
    assert window.timeline_dock.height() < 80  # a strip, not half the centre
    canvas = window.canvas  # the width the right column leaves, nearly the whole height
    assert canvas.width() >= window.width() - window.generate_dock.width() - 30
    assert canvas.height() > window.height() * 0.7
    doc_rect = canvas.doc_rect()  # zoomed to fit, inside the canvas
    assert doc_rect.width() <= canvas.width() and doc_rect.height() <= canvas.height()
    assert max(doc_rect.width(), doc_rect.height()) > 0.8 * min(canvas.width(), canvas.height())
    window.close()


def test_the_artist_layout_comes_back_on_the_next_start(qtbot, tmp_path):
    first = _window(qtbot, tmp_path)
    first.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, first.timeline_dock)
    first.setGeometry(0, 0, 790, 560)  # the test screen is 800x800
    qtbot.wait(20)
    width, height = first.size().toTuple()
    first.close()
    second = _window(qtbot, tmp_path)
    # the artist's size, not the whole screen (the width is clamped to the window's minimum)
    assert second.height() == height and abs(second.width() - width) <= 16
    assert second.dockWidgetArea(second.timeline_dock) == Qt.DockWidgetArea.TopDockWidgetArea
    assert second.timeline_panel.compact  # no run yet: still the strip
    second.close()


def test_a_recorded_run_opens_the_timeline_strip(qtbot, tmp_path, tiny_sd_path):
    from studio.engine.diffusion.engine import DiffusionEngine

    window = timeline_window(qtbot, tmp_path, tiny_sd_path, DiffusionEngine(), steps=2)
    panel = window.timeline_panel
    assert panel.compact
    generate(qtbot, window)
    assert not panel.compact and panel.details.isVisible() and panel.filmstrip.count() == 2
    qtbot.waitUntil(lambda: window.timeline_dock.height() > 150, timeout=3000)
    window.close()
