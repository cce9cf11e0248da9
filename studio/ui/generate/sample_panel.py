"""The Generate dock's Sample tab (StyleGAN): truncation ψ, noise, class and style mixing.
The seed and the model are the dock's own; a sample takes nothing from the canvas."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QSpinBox, QWidget

from studio.session.settings import PromptSettings
from studio.ui.generate.mode_panels import hint, row

NOISE_CHOICES = ("const", "random", "none")
MIX_CHOICES = ("coarse", "middle", "fine")


class SampleOptions(QWidget):
    """Edits the sample fields of PromptSettings."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.truncation_spin = QDoubleSpinBox()
        self.truncation_spin.setRange(-1.0, 2.0)
        self.truncation_spin.setSingleStep(0.05)
        self.truncation_spin.setToolTip(
            "Truncation ψ: 1 samples as trained; lower values are closer to the average "
            "picture (cleaner, less varied)"
        )
        self.noise_combo = QComboBox()
        self.noise_combo.addItems(NOISE_CHOICES)
        self.noise_combo.setToolTip(
            "Per-pixel noise: const (the model's stored noise), random (from the seed), none"
        )
        self.class_spin = QSpinBox()
        self.class_spin.setRange(-1, 100_000)
        self.class_spin.setSpecialValueText("none")  # -1: an unconditional model
        self.class_spin.setToolTip("Class index, for class-conditional models")
        self.mix_check = QCheckBox("Mix styles from seed")
        self.mix_seed_spin = QSpinBox()
        self.mix_seed_spin.setRange(0, 2**31 - 1)
        self.mix_layers_combo = QComboBox()
        self.mix_layers_combo.setEditable(True)  # also a range of W indices such as 0-6
        self.mix_layers_combo.addItems(MIX_CHOICES)
        self.mix_layers_combo.setToolTip(
            "Which styles the second seed gives: coarse (pose, shape), middle (features), "
            "fine (colours), or a range of W indices such as 0-6"
        )
        self.pan_x, self.pan_y, self.rotate_spin = (
            QDoubleSpinBox(),
            QDoubleSpinBox(),
            QDoubleSpinBox(),
        )
        for spin in (self.pan_x, self.pan_y):
            spin.setRange(-10.0, 10.0)
            spin.setSingleStep(0.05)
            spin.setToolTip("StyleGAN3 only: pan the picture (x, y), in picture widths")
        self.rotate_spin.setRange(-360.0, 360.0)
        self.rotate_spin.setSuffix("°")
        self.rotate_spin.setToolTip("StyleGAN3 only: rotate the picture")
        self.mix_check.toggled.connect(self._mix_toggled)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Truncation ψ", self.truncation_spin)
        form.addRow("Noise", self.noise_combo)
        form.addRow("Class", self.class_spin)
        form.addRow(self.mix_check, row(self.mix_seed_spin, self.mix_layers_combo))
        form.addRow("Pan / rotate", row(self.pan_x, self.pan_y, self.rotate_spin))
        form.addRow(hint("StyleGAN models: the picture comes from\nthe seed alone."))
        self._mix_toggled(False)

    def _mix_toggled(self, on: bool) -> None:
        self.mix_seed_spin.setEnabled(on)
        self.mix_layers_combo.setEnabled(on)

    def load(self, s: PromptSettings) -> None:
        self.truncation_spin.setValue(s.truncation)
        self.noise_combo.setCurrentText(s.noise_mode)
        self.class_spin.setValue(-1 if s.class_index is None else s.class_index)
        self.mix_check.setChecked(s.mix_seed is not None)
        self.mix_seed_spin.setValue(s.mix_seed or 0)
        self.mix_layers_combo.setCurrentText(s.mix_layers)
        self.pan_x.setValue(s.translate_x)
        self.pan_y.setValue(s.translate_y)
        self.rotate_spin.setValue(s.rotate)

    def store(self, s: PromptSettings) -> None:
        s.truncation = self.truncation_spin.value()
        s.noise_mode = self.noise_combo.currentText()
        s.class_index = None if self.class_spin.value() < 0 else self.class_spin.value()
        s.mix_seed = self.mix_seed_spin.value() if self.mix_check.isChecked() else None
        s.mix_layers = self.mix_layers_combo.currentText().strip() or "fine"
        s.translate_x, s.translate_y = self.pan_x.value(), self.pan_y.value()
        s.rotate = self.rotate_spin.value()
