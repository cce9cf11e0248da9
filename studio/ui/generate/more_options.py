"""The Generate dock's "More options": batches, variation seed, LoRAs, refiner, previews."""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.engine.models.registry import ModelInfo
from studio.session.settings import PromptSettings
from studio.ui.generate.mode_panels import StrengthRow, fill_combo, model_text, row

FEW_STEP = (("From the model", ""), ("Off", "off"), ("Turbo", "turbo"), ("LCM", "lcm"))


class MoreOptions(QWidget):
    """A collapsible section; collapsed by default so the common case stays short."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = QToolButton()
        self.toggle.setText("More options")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setToolTip("Batches, variation seed, LoRAs, refiner, preview quality")
        self.toggle.setAutoRaise(True)
        self.body = QWidget()
        self.body.setVisible(False)
        self.toggle.toggled.connect(self.set_expanded)
        self._build_body()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.body)

    def set_expanded(self, on: bool) -> None:
        self.toggle.setChecked(on)
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.body.setVisible(on)

    def _build_body(self) -> None:
        form = QFormLayout(self.body)
        form.setContentsMargins(12, 0, 0, 0)
        self.count_spin, self.size_spin = QSpinBox(), QSpinBox()
        self.count_spin.setRange(1, 100)
        self.count_spin.setToolTip("Batch count: runs one after another (seed, seed+1, …)")
        self.size_spin.setRange(1, 16)
        self.size_spin.setToolTip("Batch size: images per run (needs more memory)")
        form.addRow("Batches", row(self.count_spin, QLabel("× images"), self.size_spin))
        self.variation_check = QCheckBox("Variation of seed")
        self.variation_check.setToolTip("Mix in a second seed's noise for small variations")
        self.variation_edit = QLineEdit("1")
        self.variation_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"\d{1,19}"), self.variation_edit)
        )
        self.variation_edit.setToolTip("The variation seed")
        self.variation_strength = StrengthRow("0 = the seed's image, 1 = the variation seed's")
        form.addRow(row(self.variation_check, self.variation_edit))
        form.addRow("Variation", self.variation_strength)
        self.variation_check.toggled.connect(self._update_variation)
        self._build_loras(form)
        self.refiner_combo = QComboBox()
        self.refiner_combo.setToolTip("SDXL refiner that takes over for the last steps")
        self.switch_spin = QDoubleSpinBox()
        self.switch_spin.setRange(0.05, 0.95)
        self.switch_spin.setSingleStep(0.05)
        self.switch_spin.setToolTip("Fraction of the steps made by the base model")
        form.addRow("Refiner", row(self.refiner_combo, self.switch_spin))
        self.preview_combo = QComboBox()
        self.preview_combo.setToolTip(
            "Step previews: fast colour approximation, a tiny decoder (TAESD), or the full VAE "
            "(slow: every step costs a full decode)"
        )
        form.addRow("Previews", self.preview_combo)
        self.few_step_combo = QComboBox()
        for text, value in FEW_STEP:
            self.few_step_combo.addItem(text, value)
        self.few_step_combo.setToolTip(
            "Few-step models (Turbo, LCM) need their own scheduler settings; "
            "'From the model' uses what the model file says"
        )
        form.addRow("Few-step", self.few_step_combo)

    def _build_loras(self, form: QFormLayout) -> None:
        self.lora_combo = QComboBox()
        self.lora_combo.setToolTip("LoRA files in the model folders")
        self.lora_weight = QDoubleSpinBox()
        self.lora_weight.setRange(-2.0, 2.0)
        self.lora_weight.setSingleStep(0.1)
        self.lora_weight.setValue(1.0)
        self.lora_weight.setToolTip("Weight of the LoRA to add")
        add = QPushButton("Add")
        add.setToolTip("Use this LoRA (several can be used at once)")
        add.clicked.connect(self._add_lora)
        form.addRow("LoRA", row(self.lora_combo, self.lora_weight, add))
        self.lora_list = QListWidget()
        self.lora_list.setMaximumHeight(64)
        self.lora_list.setToolTip("LoRAs in use; select one and press Remove")
        remove = QPushButton("Remove")
        remove.setToolTip("Stop using the selected LoRA")
        remove.clicked.connect(self._remove_lora)
        form.addRow("", row(self.lora_list, remove))

    def _update_variation(self, on: bool) -> None:
        self.variation_edit.setEnabled(on)
        self.variation_strength.setEnabled(on)

    def _add_lora(self) -> None:
        path = self.lora_combo.currentData()
        if path:
            self._append_lora(path, self.lora_weight.value(), self.lora_combo.currentText())

    def _append_lora(self, path: str, weight: float, name: str) -> None:
        item = QListWidgetItem(f"{name} × {weight:g}")
        item.setData(Qt.ItemDataRole.UserRole, (path, weight))
        self.lora_list.addItem(item)

    def _remove_lora(self) -> None:
        self.lora_list.takeItem(self.lora_list.currentRow())

    # ---- settings ---------------------------------------------------------------------------
    def set_models(self, models: list[ModelInfo], extras: list[ModelInfo], s: PromptSettings):
        loras = [(model_text(m), m.path) for m in extras if m.kind == "lora"]
        fill_combo(self.lora_combo, loras, "", "No LoRA installed")
        refiners = [("None", "")] + [
            (model_text(m), m.path) for m in models if m.usable and m.has("refiner")
        ]
        fill_combo(self.refiner_combo, refiners, s.refiner_path, "None")
        previews = [("Fast approximation", "")]
        previews += [
            (f"Tiny decoder: {model_text(m)}", m.path) for m in extras if m.kind == "taesd"
        ]
        previews.append(("Full VAE (slow)", "vae"))
        fill_combo(self.preview_combo, previews, s.preview_decoder, "Fast approximation")

    def load(self, s: PromptSettings) -> None:
        self.count_spin.setValue(s.batch_count)
        self.size_spin.setValue(s.batch_size)
        self.variation_check.setChecked(s.variation_seed is not None)
        self.variation_edit.setText(str(s.variation_seed if s.variation_seed is not None else 1))
        self.variation_strength.set_value(max(0.01, s.variation_strength))
        self._update_variation(s.variation_seed is not None)
        self.lora_list.clear()
        for path, weight in s.loras:
            self._append_lora(path, weight, path.rsplit("/", 1)[-1])
        self.refiner_combo.setCurrentIndex(max(0, self.refiner_combo.findData(s.refiner_path)))
        self.switch_spin.setValue(s.refiner_switch)
        self.preview_combo.setCurrentIndex(max(0, self.preview_combo.findData(s.preview_decoder)))
        self.few_step_combo.setCurrentIndex(max(0, self.few_step_combo.findData(s.few_step)))
        if s.batch_count > 1 or s.batch_size > 1 or s.loras or s.refiner_path:
            self.set_expanded(True)  # never hide a setting that changes the picture

    def store(self, s: PromptSettings) -> None:
        s.batch_count = self.count_spin.value()
        s.batch_size = self.size_spin.value()
        on = self.variation_check.isChecked()
        s.variation_seed = int(self.variation_edit.text() or 0) if on else None
        s.variation_strength = self.variation_strength.value() if on else 0.0
        s.loras = [
            tuple(self.lora_list.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.lora_list.count())
        ]
        s.refiner_path = self.refiner_combo.currentData() or ""
        s.refiner_switch = self.switch_spin.value()
        s.preview_decoder = self.preview_combo.currentData() or ""
        s.few_step = self.few_step_combo.currentData() or ""
