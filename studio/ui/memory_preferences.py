"""Preferences → Memory: the low-memory preset (Automatic by the device) and what an
out-of-memory retry may change; stored under memory/… and copied into every request."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QLabel, QWidget

from studio.engine.memory.preflight import device_state
from studio.engine.memory.presets import PRESET_LABELS, PRESETS, auto_preset
from studio.engine.memory.retry import RETRY_CHOICES
from studio.engine.requests import MemorySettings
from studio.units import format_bytes

PRESET_KEY = "memory/preset"
RETRY_KEY = "memory/oom_retry"
RETRY_WITH_KEY = "memory/retry_with"  # comma-separated RETRY_CHOICES keys
PRESET_TIPS = {
    "auto": "Chosen from the memory of the device the model runs on",
    "fast": "Everything on the device, nothing tiled: fastest, needs the most memory",
    "balanced": "Decode a batch one image at a time",
    "low": "Tiled VAE and, on a GPU, model CPU offload: slower, much less memory",
    "minimal": "Offload layer by layer and slice attention: slowest, least memory",
}


def memory_settings(settings: QSettings) -> MemorySettings:
    """The stored choices (defaults: Automatic, retry with every safer setting)."""
    preset = str(settings.value(PRESET_KEY, "auto"))
    retry = str(settings.value(RETRY_KEY, "true")).lower() == "true"
    default = ",".join(RETRY_CHOICES)
    stored = str(settings.value(RETRY_WITH_KEY, default) or "")
    retry_with = tuple(k for k in RETRY_CHOICES if k in stored.split(","))
    return MemorySettings(
        preset=preset if preset in PRESETS else "auto", oom_retry=retry, retry_with=retry_with
    )


def automatic_means(device: str | None) -> str:
    """What Automatic picks on this machine, in words (when the device can be told now)."""
    state = device_state(device, None)
    if state is None:
        return "Automatic is chosen from the device's memory when the first job runs."
    name = PRESET_LABELS[auto_preset(state.device, state.total)].split(" (")[0]
    where = "RAM" if state.device == "cpu" else f"{state.device.upper()} memory"
    return f"Automatic here: {name} ({format_bytes(state.total)} of {where})."


class MemoryPreferences(QGroupBox):
    """The Memory section of the Preferences dialog."""

    def __init__(self, settings: QSettings, device: str | None, parent: QWidget | None = None):
        super().__init__("Memory", parent)
        current = memory_settings(settings)
        self.preset_combo = QComboBox()
        for key in PRESETS:
            self.preset_combo.addItem(PRESET_LABELS[key], key)
            self.preset_combo.setItemData(
                self.preset_combo.count() - 1, PRESET_TIPS[key], Qt.ItemDataRole.ToolTipRole
            )
        self.preset_combo.setCurrentIndex(max(0, self.preset_combo.findData(current.preset)))
        self.preset_combo.setToolTip("How jobs trade speed for memory; applies to the next job")
        self.auto_label = QLabel(automatic_means(device))
        self.retry_check = QCheckBox("On out of memory, retry the job once with:")
        self.retry_check.setToolTip(
            "After an out-of-memory the job is run again once with the safer settings ticked "
            "below, and you are told what changed"
        )
        self.retry_check.setChecked(current.oom_retry)
        self.retry_boxes: dict[str, QCheckBox] = {}
        form = QFormLayout(self)
        form.addRow("Preset", self.preset_combo)
        form.addRow(self.auto_label)
        form.addRow(self.retry_check)
        for key, text in RETRY_CHOICES.items():
            box = QCheckBox(text)
            box.setChecked(key in current.retry_with)
            box.setToolTip(f"The retry may use: {text[0].lower()}{text[1:]}")
            self.retry_boxes[key] = box
            form.addRow("", box)
        self.retry_check.toggled.connect(self._enable_boxes)
        self._enable_boxes(current.oom_retry)

    def _enable_boxes(self, on: bool) -> None:
        for box in self.retry_boxes.values():
            box.setEnabled(on)

    def store(self, settings: QSettings) -> None:
        settings.setValue(PRESET_KEY, self.preset_combo.currentData())
        settings.setValue(RETRY_KEY, "true" if self.retry_check.isChecked() else "false")
        chosen = [k for k, box in self.retry_boxes.items() if box.isChecked()]
        settings.setValue(RETRY_WITH_KEY, ",".join(chosen))
