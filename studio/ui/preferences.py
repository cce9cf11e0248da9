"""Preferences: device and precision for generation (more settings join here later)."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

DEVICES = [
    ("Automatic (CUDA, else Apple GPU, else CPU)", "auto"),
    ("CPU", "cpu"),
    ("NVIDIA GPU (CUDA)", "cuda"),
    ("Apple GPU (MPS)", "mps"),
]
PRECISIONS = [
    ("Automatic (fp16 on GPU; bf16 on CPUs where it is faster)", "auto"),
    ("float32 (exact, slowest)", "float32"),
    ("float16", "float16"),
    ("bfloat16", "bfloat16"),
]


def engine_choice(settings: QSettings) -> tuple[str | None, str | None]:
    """(device, dtype) stored in Preferences; None means automatic."""
    device = str(settings.value("engine/device", "auto"))
    dtype = str(settings.value("engine/dtype", "auto"))
    return (None if device == "auto" else device, None if dtype == "auto" else dtype)


class PreferencesDialog(QDialog):
    """Edits the QSettings keys engine/device and engine/dtype."""

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.settings = settings
        self.device_combo = QComboBox()
        self.dtype_combo = QComboBox()
        for combo, items, key in (
            (self.device_combo, DEVICES, "engine/device"),
            (self.dtype_combo, PRECISIONS, "engine/dtype"),
        ):
            for text, value in items:
                combo.addItem(text, value)
            combo.setCurrentIndex(max(0, combo.findData(str(settings.value(key, "auto")))))
        self.device_combo.setToolTip("Where models run; applies to the next generation")
        self.dtype_combo.setToolTip("Number format of the model weights; float32 is exact")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Device", self.device_combo)
        form.addRow("Precision", self.dtype_combo)
        form.addRow(QLabel("Changing these reloads the model on the next generation."))
        form.addRow(buttons)

    def accept(self) -> None:
        self.settings.setValue("engine/device", self.device_combo.currentData())
        self.settings.setValue("engine/dtype", self.dtype_combo.currentData())
        super().accept()
