"""What Studio assumed about a model file, and the artist's override where weights cannot tell."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QWidget,
)

from studio.engine.models.registry import ModelInfo
from studio.engine.models.settings import ModelSettings
from studio.session.convert import can_convert

PREDICTION_CHOICES = (
    ("Detect", None),
    ("Epsilon (most SD 1.x/SDXL)", "epsilon"),
    ("v-prediction (SD 2.x 768-v)", "v"),
)
FEW_STEP_CHOICES = (
    ("Detect", None),
    ("Off", "off"),
    ("Turbo (1-4 steps)", "turbo"),
    ("LCM (4-8 steps)", "lcm"),
)


def _combo(choices, current) -> QComboBox:
    combo = QComboBox()
    for text, value in choices:
        combo.addItem(text, value)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    return combo


class ModelSettingsDialog(QDialog):
    """Shows the model's notes; prediction type and few-step mode can be set for it."""

    def __init__(self, info: ModelInfo, current: ModelSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Settings of {info.name}")
        form = QFormLayout(self)
        form.addRow(QLabel(f"<b>{info.label}</b><br>{info.path}"))
        notes = QLabel("<br>".join(info.notes) or "Studio made no assumptions about this model.")
        notes.setWordWrap(True)
        form.addRow("Studio's view", notes)
        self.prediction_combo = _combo(PREDICTION_CHOICES, current.prediction)
        self.prediction_combo.setToolTip(
            "What the UNet predicts; a wrong choice gives grey or burnt pictures. "
            "Weights alone cannot always tell"
        )
        self.few_step_combo = _combo(FEW_STEP_CHOICES, current.few_step)
        self.few_step_combo.setToolTip(
            "Turbo and LCM models need their own scheduler settings; the weights cannot tell"
        )
        form.addRow("Prediction", self.prediction_combo)
        form.addRow("Few-step", self.few_step_combo)
        self.convert_requested = False
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        if can_convert(info.path):  # pickles load weights-only; .safetensors is safe and faster
            self.convert_button = buttons.addButton(
                "Convert to .safetensors", QDialogButtonBox.ButtonRole.ActionRole
            )
            self.convert_button.setToolTip(
                "Write a .safetensors copy next to the file (nothing in the file is run); "
                "the original is left as it is"
            )
            self.convert_button.clicked.connect(self._convert)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _convert(self) -> None:
        self.convert_requested = True
        self.accept()

    def chosen(self) -> ModelSettings:
        return ModelSettings(self.prediction_combo.currentData(), self.few_step_combo.currentData())
