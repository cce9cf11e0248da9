"""Preferences → Memory: preset and retry choices, kept in the settings, in every request."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from studio.engine.requests import MemorySettings
from studio.ui.memory_preferences import memory_settings
from studio.ui.preferences import PreferencesDialog
from tests.fakes import FakeEngine
from tests.ui.conftest import press_generate


def test_defaults_are_automatic_with_every_safer_retry(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    assert memory_settings(settings) == MemorySettings()
    settings.setValue("engine/device", "cpu")  # known without asking torch for a GPU
    dialog = PreferencesDialog(settings)
    qtbot.addWidget(dialog)
    box = dialog.memory_box
    assert box.preset_combo.currentData() == "auto"
    assert box.preset_combo.currentText().startswith("Automatic")
    assert [box.preset_combo.itemData(i) for i in range(box.preset_combo.count())] == [
        "auto", "fast", "balanced", "low", "minimal"
    ]  # fmt: skip
    assert box.auto_label.text().startswith("Automatic here: Fast (")  # tests pin Automatic
    assert box.auto_label.text().endswith(" of RAM).")
    assert all(b.isChecked() and b.isEnabled() for b in box.retry_boxes.values())


def test_choices_are_kept_and_reach_the_next_request(make_window, qtbot, tiny_sd_path):
    engine = FakeEngine(steps=1)
    window = make_window(engine, models=tiny_sd_path)
    dialog = PreferencesDialog(window.settings_store, window)
    qtbot.addWidget(dialog)
    box = dialog.memory_box
    box.preset_combo.setCurrentIndex(box.preset_combo.findData("low"))
    box.retry_boxes["batch"].setChecked(False)
    dialog.accept()
    window.preferences_changed()  # what open_preferences does after the dialog
    want = MemorySettings(preset="low", retry_with=("vae_tiling", "offload"))
    assert window.session.memory_settings == want
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(engine.runs) == 1, timeout=5000)
    assert engine.runs[0].memory == want

    again = PreferencesDialog(window.settings_store, window)  # read back from the file
    qtbot.addWidget(again)
    assert again.memory_box.preset_combo.currentData() == "low"
    assert not again.memory_box.retry_boxes["batch"].isChecked()
    again.memory_box.retry_check.setChecked(False)
    assert not any(b.isEnabled() for b in again.memory_box.retry_boxes.values())
    again.accept()
    restarted = make_window(FakeEngine(steps=1), models=tiny_sd_path)  # same settings file
    assert restarted.session.memory_settings == MemorySettings(
        preset="low", oom_retry=False, retry_with=("vae_tiling", "offload")
    )
