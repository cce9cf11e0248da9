"""UI fixtures: the real main window on a fake or real engine, driven like a user would."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

from studio.app.main import build_window
from tests.fakes import FakeEngine


@pytest.fixture
def make_window(qtbot, tmp_path):
    windows = []

    def factory(engine=None, models=None, settings_name="settings.ini"):
        settings = QSettings(str(tmp_path / settings_name), QSettings.Format.IniFormat)
        window = build_window(engine or FakeEngine(steps=4, step_delay=0.02), settings)
        if models is not None:
            window.session.open_model_folder(str(models))
            window.prompt_panel.load(window.session.settings)
        window.prompt_panel.width_spin.setValue(64)
        window.prompt_panel.height_spin.setValue(64)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        windows.append(window)
        return window

    yield factory
    for window in windows:
        window.close()


def press_generate(qtbot, window):
    window.prompt_panel.prompt_edit.setFocus()
    QTest.keyClick(
        window.prompt_panel.prompt_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
    )
