"""The Translate dock: pix2pix/CycleGAN model, direction, seed, and a Translate button."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QPushButton, QSpinBox, QWidget

from studio.engine.models.registry import ModelInfo


class TranslatePanel(QWidget):
    """Controls only; the Translator in the session queues the job."""

    translate_requested = Signal(str, str, int)  # model path, direction, seed
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("pix2pix or CycleGAN generator")
        self.direction_combo = QComboBox()
        self.direction_combo.addItems(["AtoB", "BtoA"])
        self.direction_combo.setToolTip("Which way a CycleGAN pair translates (A→B or B→A)")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("Variation seed (pix2pix dropout noise)")
        self.translate_button = QPushButton("Translate active layer")
        self.translate_button.setToolTip(
            "Run the model on the active image layer (only the selection if there is one)"
        )
        refresh = QPushButton("Refresh")
        refresh.setToolTip("Look for pix2pix/CycleGAN models in the model folders again")
        form = QFormLayout(self)
        form.addRow("Model", self.model_combo)
        form.addRow("Direction", self.direction_combo)
        form.addRow("Seed", self.seed_spin)
        form.addRow(self.translate_button, refresh)
        self.translate_button.clicked.connect(self.request_translate)
        refresh.clicked.connect(self.refresh_requested)

    def request_translate(self) -> None:
        self.translate_requested.emit(
            self.model_combo.currentData() or "",
            self.direction_combo.currentText(),
            self.seed_spin.value(),
        )

    def set_models(self, models: list[ModelInfo]) -> None:
        self.model_combo.clear()
        for info in models:
            self.model_combo.addItem(f"{info.name} ({info.family})", info.path)
        if not models:
            self.model_combo.addItem("No pix2pix/CycleGAN model installed", "")
        self.translate_button.setEnabled(bool(models))
