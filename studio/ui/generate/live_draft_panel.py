"""The Live draft dock: pick a SPADE model, switch the draft on, see how fast it follows."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QPushButton, QWidget

from studio.engine.models.registry import ModelInfo


class LiveDraftPanel(QWidget):
    """Controls only; the LiveDraft controller in the session does the work."""

    model_chosen = Signal(str)  # whichever model is now current (also after set_models)
    model_picked = Signal(str)  # the artist picked one in the list
    toggled = Signal(bool)
    switched = Signal(bool)  # the artist clicked "Draft while painting" (not set by code)
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("SPADE (GauGAN) model that renders the label layer")
        self.enable_check = QCheckBox("Draft while painting")
        self.enable_check.setToolTip(
            "Re-render the active label layer after every stroke (newest edit wins)"
        )
        refresh = QPushButton("Refresh")
        refresh.setToolTip("Look for SPADE models in the model folders again")
        self.status = QLabel("Paint on a label layer to see a draft.")
        self.status.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Model", self.model_combo)
        form.addRow(self.enable_check, refresh)
        form.addRow(self.status)
        self.model_combo.currentIndexChanged.connect(
            lambda _i: self.model_chosen.emit(self.model_combo.currentData() or "")
        )
        self.model_combo.activated.connect(
            lambda _i: self.model_picked.emit(self.model_combo.currentData() or "")
        )
        self.enable_check.toggled.connect(self.toggled)
        self.enable_check.clicked.connect(self.switched)
        refresh.clicked.connect(self.refresh_requested)

    def set_models(
        self, models: list[ModelInfo], preferred: str = "", enabled: bool | None = None
    ) -> None:
        """List the models; select `preferred` (else keep the current one); `enabled` sets
        "Draft while painting" (None keeps it). Without a model the draft is off."""
        current = preferred or self.model_combo.currentData()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for info in models:
            starter = ", starter" if info.starter else ""
            label = f"{info.name} ({info.variant or 'labels?'}{starter})"
            self.model_combo.addItem(label, info.path)
        if not models:
            self.model_combo.addItem("No SPADE model installed", "")
        index = self.model_combo.findData(current)
        self.model_combo.setCurrentIndex(max(0, index))
        self.model_combo.blockSignals(False)
        self.enable_check.setEnabled(bool(models))
        self.model_chosen.emit(self.model_combo.currentData() or "")
        if not models:
            self.enable_check.setChecked(False)
        elif enabled is not None:
            self.enable_check.setChecked(enabled)

    def show_latency(self, seconds: float) -> None:
        self.status.setText(f"Draft shown {seconds * 1000:.0f} ms after the edit.")
