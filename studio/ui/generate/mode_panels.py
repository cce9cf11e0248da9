"""The Generate dock's per-mode controls: Prompt (img2img), Paint (labels), Inpaint (mask)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.engine.models.registry import ModelInfo
from studio.session.settings import MASKED_CONTENT_CHOICES, PromptSettings
from studio.ui.generate.live_draft_panel import LiveDraftPanel

FAMILY_NAMES = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sdxl": "SDXL"}


def row(*widgets: QWidget) -> QWidget:
    """Widgets side by side without margins (one form row)."""
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        layout.addWidget(w)
    return box


def hint(text: str) -> QLabel:
    """A short grey note; lines are broken by hand (wrapped labels get clipped in docks)."""
    label = QLabel(text)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


class StrengthRow(QWidget):
    """A 0.01-1.0 value as a slider plus a spin box that accepts typed values."""

    def __init__(self, tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 100)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0.01, 1.0)
        self.spin.setSingleStep(0.05)
        for w in (self.slider, self.spin):
            w.setToolTip(tip)
        self.slider.valueChanged.connect(lambda v: self.spin.setValue(v / 100))
        self.spin.valueChanged.connect(lambda v: self.slider.setValue(round(v * 100)))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider)
        layout.addWidget(self.spin)

    def value(self) -> float:
        return self.spin.value()

    def set_value(self, value: float) -> None:
        self.spin.setValue(value)
        self.slider.setValue(round(value * 100))


def fill_combo(combo: QComboBox, items: list[tuple[str, str]], selected: str, empty: str) -> None:
    """(text, data) items; keeps `selected` chosen when it is still there."""
    combo.blockSignals(True)
    combo.clear()
    for text, data in items:
        combo.addItem(text, data)
    if combo.count() == 0:
        combo.addItem(empty, "")
    index = combo.findData(selected)
    combo.setCurrentIndex(max(0, index))
    combo.blockSignals(False)


def model_text(info: ModelInfo) -> str:
    return f"{info.name} ({FAMILY_NAMES.get(info.family, info.family)})"


class PromptOptions(QWidget):
    """Prompt mode: text to image, or image to image from the canvas with a strength."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.img2img_check = QCheckBox("Start from the canvas (image to image)")
        self.img2img_check.setToolTip("Use the visible image layers as the starting image")
        self.strength = StrengthRow("Strength: how much of the canvas is repainted (1 = all)")
        self.img2img_check.toggled.connect(self.strength.setEnabled)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.img2img_check)
        form.addRow("Strength", self.strength)

    def load(self, s: PromptSettings) -> None:
        self.img2img_check.setChecked(s.img2img)
        self.strength.set_value(s.strength)
        self.strength.setEnabled(s.img2img)

    def store(self, s: PromptSettings) -> None:
        s.img2img = self.img2img_check.isChecked()
        s.strength = self.strength.value()


REFINE_TITLES = {False: "Refine with diffusion (ControlNet seg)", True: "Picture from the labels"}
REFINE_HINTS = {
    False: "Uses the active label layer (else the top one) in ADE20K\n"
    "colours, with the prompt above. Made at the work size in\n"
    "the canvas's aspect, then fitted to the canvas.",
    True: "The starter model reads the active label layer (else the\n"
    "top one) itself, no ControlNet needed; the prompt's style\n"
    "words set time, weather and season. Fitted to the canvas.",
}


class PaintOptions(QWidget):
    """Paint mode: the SPADE live draft while painting, and a diffusion pass from the labels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.live_panel = LiveDraftPanel()
        live = QGroupBox("Live draft (SPADE)")
        QVBoxLayout(live).addWidget(self.live_panel)
        refine = self.refine_box = QGroupBox(REFINE_TITLES[False])
        self.controlnet_combo = QComboBox()
        self.controlnet_combo.setToolTip(
            "Segmentation ControlNet that makes the diffusion model follow the label layer"
        )
        self.scale_spin = QDoubleSpinBox()
        self.scale_spin.setRange(0.0, 2.0)
        self.scale_spin.setSingleStep(0.05)
        self.scale_spin.setToolTip("How strictly the picture follows the labels (1 = default)")
        self.from_canvas_check = QCheckBox("Start from the canvas (the live draft)")
        self.from_canvas_check.setToolTip(
            "Refine what is on screen (e.g. the SPADE draft) instead of starting from noise"
        )
        self.strength = StrengthRow("How much of the canvas is repainted (1 = all)")
        self.from_canvas_check.toggled.connect(self.strength.setEnabled)
        form = self.refine_form = QFormLayout(refine)
        form.addRow("ControlNet", self.controlnet_combo)
        form.addRow("Label strength", self.scale_spin)
        form.addRow(self.from_canvas_check)
        form.addRow("Strength", self.strength)
        self.refine_hint = hint(REFINE_HINTS[False])
        form.addRow(self.refine_hint)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(live)
        layout.addWidget(refine)

    def set_starter(self, starter: bool) -> None:
        """The starter diffusion reads the labels itself: no ControlNet rows, its own note."""
        self.refine_box.setTitle(REFINE_TITLES[starter])
        for widget in (self.controlnet_combo, self.scale_spin):
            self.refine_form.setRowVisible(widget, not starter)
        self.refine_hint.setText(REFINE_HINTS[starter])

    def set_controlnets(self, controlnets: list[ModelInfo], selected: str) -> None:
        items = [(model_text(m), m.path) for m in controlnets]
        fill_combo(self.controlnet_combo, items, selected, "No ControlNet installed")

    def load(self, s: PromptSettings) -> None:
        index = self.controlnet_combo.findData(s.controlnet_path)
        if index >= 0:
            self.controlnet_combo.setCurrentIndex(index)
        self.scale_spin.setValue(s.control_scale)
        self.from_canvas_check.setChecked(s.paint_from_canvas)
        self.strength.set_value(s.paint_strength)
        self.strength.setEnabled(s.paint_from_canvas)

    def store(self, s: PromptSettings) -> None:
        s.controlnet_path = self.controlnet_combo.currentData() or ""
        s.control_scale = self.scale_spin.value()
        s.paint_from_canvas = self.from_canvas_check.isChecked()
        s.paint_strength = self.strength.value()


class InpaintOptions(QWidget):
    """Inpaint mode: what is repainted under the mask, and how it is blended back."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strength = StrengthRow("How much of what is under the mask is repainted (1 = all)")
        self.blur_spin = QSpinBox()
        self.blur_spin.setRange(0, 64)
        self.blur_spin.setSuffix(" px")
        self.blur_spin.setToolTip("Feather: the result fades into the picture over this width")
        self.only_masked_check = QCheckBox("Only the masked area, at full detail")
        self.only_masked_check.setToolTip(
            "Crop around the mask, render it at the size above and paste it back; "
            "off: repaint using the whole picture as context"
        )
        self.padding_spin = QSpinBox()
        self.padding_spin.setRange(0, 512)
        self.padding_spin.setSuffix(" px")
        self.padding_spin.setToolTip("Context around the mask that the model sees")
        self.only_masked_check.toggled.connect(self.padding_spin.setEnabled)
        self.content_combo = QComboBox()
        for value in MASKED_CONTENT_CHOICES:
            self.content_combo.addItem(value.capitalize(), value)
        self.content_combo.setToolTip(
            "What the model starts from under the mask: the original pixels, a fill of the "
            "surrounding colours, or noise (nothing of the original survives)"
        )
        self.color_check = QCheckBox("Match colours to the surroundings")
        self.color_check.setToolTip("Shift the repainted colours towards the pixels around it")
        self.labels_check = QCheckBox("Follow the label layer (ControlNet from the Paint tab)")
        self.labels_check.setToolTip("Repaint the region from the labels painted under it")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Strength", self.strength)
        form.addRow("Mask blur", self.blur_spin)
        form.addRow(self.only_masked_check)
        form.addRow("Padding", self.padding_spin)
        form.addRow("Start from", self.content_combo)
        form.addRow(self.color_check)
        form.addRow(self.labels_check)
        form.addRow(
            hint(
                "Paint a mask layer (Layer → New mask layer) or make a\n"
                "selection. Pixels outside the mask never change."
            )
        )

    def load(self, s: PromptSettings) -> None:
        self.strength.set_value(s.inpaint_strength)
        self.blur_spin.setValue(s.mask_blur)
        self.only_masked_check.setChecked(s.only_masked)
        self.padding_spin.setValue(s.inpaint_padding)
        self.padding_spin.setEnabled(s.only_masked)
        self.content_combo.setCurrentIndex(max(0, self.content_combo.findData(s.masked_content)))
        self.color_check.setChecked(s.color_match)
        self.labels_check.setChecked(s.inpaint_from_labels)

    def store(self, s: PromptSettings) -> None:
        s.inpaint_strength = self.strength.value()
        s.mask_blur = self.blur_spin.value()
        s.only_masked = self.only_masked_check.isChecked()
        s.inpaint_padding = self.padding_spin.value()
        s.masked_content = self.content_combo.currentData()
        s.color_match = self.color_check.isChecked()
        s.inpaint_from_labels = self.labels_check.isChecked()
