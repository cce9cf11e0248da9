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

from studio.engine.model_settings import ModelSettings
from studio.engine.registry import ModelInfo

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
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def chosen(self) -> ModelSettings:
        return ModelSettings(self.prediction_combo.currentData(), self.few_step_combo.currentData())
