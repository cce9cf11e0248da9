"""The New document dialog: size presets (512², 768², 1024², 1216×832) or a custom size."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QSpinBox,
    QWidget,
)

PRESETS = [
    ("512 × 512 (SD 1.x)", 512, 512),
    ("768 × 768 (SD 2.x)", 768, 768),
    ("1024 × 1024 (SDXL)", 1024, 1024),
    ("1216 × 832 (SDXL landscape)", 1216, 832),
    ("Custom", 0, 0),
]
MAX_SIDE = 8192


class NewDocumentDialog(QDialog):
    """Pick a canvas size; `size()` gives (width, height) after accept."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New document")
        self.preset = QComboBox()
        for text, w, h in PRESETS:
            self.preset.addItem(text, (w, h))
        self.width_spin = QSpinBox()
        self.height_spin = QSpinBox()
        for spin in (self.width_spin, self.height_spin):
            spin.setRange(8, MAX_SIDE)
            spin.setSingleStep(64)
            spin.setSuffix(" px")
            spin.setToolTip("Multiples of 8 work with every model; 64 is safest")
        self.preset.currentIndexChanged.connect(self._on_preset)
        self.width_spin.valueChanged.connect(self._on_custom)
        self.height_spin.valueChanged.connect(self._on_custom)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Size", self.preset)
        form.addRow("Width", self.width_spin)
        form.addRow("Height", self.height_spin)
        form.addRow(buttons)
        self._on_preset(0)

    def _on_preset(self, index: int) -> None:
        w, h = self.preset.itemData(index)
        if w:
            for spin, value in ((self.width_spin, w), (self.height_spin, h)):
                spin.blockSignals(True)
                spin.setValue(value)
                spin.blockSignals(False)

    def _on_custom(self) -> None:
        size = (self.width_spin.value(), self.height_spin.value())
        match = next((i for i, p in enumerate(PRESETS) if p[1:] == size), len(PRESETS) - 1)
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(match)
        self.preset.blockSignals(False)

    def chosen_size(self) -> tuple[int, int]:
        return self.width_spin.value(), self.height_spin.value()
