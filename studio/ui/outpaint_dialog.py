"""Image → Extend canvas for outpainting: how many pixels to add on each side."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QWidget

SIDES = ("left", "top", "right", "bottom")


class OutpaintDialog(QDialog):
    """Four typed-or-stepped sizes; OK grows the canvas and masks the new band."""

    def __init__(self, width: int, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Extend canvas for outpainting")
        self.spins: dict[str, QSpinBox] = {}
        form = QFormLayout(self)
        form.addRow(QLabel(f"The canvas is {width}×{height} px. Add on each side:"))
        for side in SIDES:
            spin = QSpinBox()
            spin.setRange(0, 4096)
            spin.setSingleStep(64)
            spin.setSuffix(" px")
            spin.setToolTip(f"Pixels added on the {side} (multiples of 64 suit every model)")
            spin.setValue(128 if side == "right" else 0)
            spin.valueChanged.connect(self._update)
            self.spins[side] = spin
            form.addRow(side.capitalize(), spin)
        self.result_label = QLabel()
        form.addRow(self.result_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self._size = (width, height)
        self._update()

    def sides(self) -> tuple[int, int, int, int]:
        return tuple(self.spins[s].value() for s in SIDES)

    def _update(self) -> None:
        left, top, right, bottom = self.sides()
        w, h = self._size
        self.result_label.setText(f"New size: {w + left + right}×{h + top + bottom} px")
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(any(self.sides()))
