"""The tool bar: tool buttons plus size, hardness, opacity, colour and mask softness."""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QLabel,
    QSpinBox,
    QToolBar,
    QToolButton,
)

from studio.ui.canvas.tool_settings import MAX_SIZE, MIN_SIZE, ToolSettings


def _color_icon(rgb: tuple[int, int, int]) -> QIcon:
    pixmap = QPixmap(18, 18)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)


class ToolBar(QToolBar):
    """Shows and edits ToolSettings; typed values are accepted everywhere."""

    def __init__(self, settings: ToolSettings, tool_actions: list[QAction], parent=None) -> None:
        super().__init__("Tools", parent)
        self.setObjectName("ToolBar")
        self.settings = settings
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        for action in tool_actions:
            action.setCheckable(True)
            self.group.addAction(action)
            self.addAction(action)
        self.addSeparator()
        self.size_spin = self._spin(QSpinBox(), "Size", "Brush size in pixels ([ and ])")
        self.size_spin.setRange(int(MIN_SIZE), int(MAX_SIZE))
        self.hardness_spin = self._spin(QSpinBox(), "Hardness", "Soft (0) to hard (100) edge")
        self.opacity_spin = self._spin(QSpinBox(), "Opacity", "Stroke opacity")
        for spin in (self.hardness_spin, self.opacity_spin):
            spin.setRange(0, 100)
            spin.setSuffix(" %")
        self.tolerance_spin = self._spin(QSpinBox(), "Tolerance", "Fill tolerance (raster)")
        self.tolerance_spin.setRange(0, 255)
        self.mask_soft = QCheckBox("Soft mask")
        self.mask_soft.setToolTip("Masks paint with the soft brush (off: hard edges)")
        self.addWidget(self.mask_soft)
        self.pressure_size = QCheckBox("Pen → size")
        self.pressure_size.setToolTip("Pen pressure changes the brush size")
        self.pressure_opacity = QCheckBox("Pen → opacity")
        self.pressure_opacity.setToolTip("Pen pressure changes the stroke opacity")
        self.addWidget(self.pressure_size)
        self.addWidget(self.pressure_opacity)
        self.color_button = QToolButton()
        self.color_button.setToolTip("Brush colour (X swaps with the background colour)")
        self.color_button.clicked.connect(self._pick_color)
        self.addWidget(self.color_button)
        self.size_spin.valueChanged.connect(lambda v: settings.set_size(v))
        self.hardness_spin.valueChanged.connect(lambda v: settings.set_value("hardness", v / 100))
        self.opacity_spin.valueChanged.connect(lambda v: settings.set_value("opacity", v / 100))
        self.tolerance_spin.valueChanged.connect(lambda v: settings.set_value("tolerance", v))
        self.mask_soft.toggled.connect(lambda v: settings.set_value("mask_soft", v))
        self.pressure_size.toggled.connect(lambda v: settings.set_value("pressure_size", v))
        self.pressure_opacity.toggled.connect(lambda v: settings.set_value("pressure_opacity", v))
        settings.changed.connect(self.sync)
        self.sync()

    def _spin(self, spin, label: str, tip: str):
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)
        self.addWidget(QLabel(f" {label} "))
        self.addWidget(spin)
        return spin

    def sync(self) -> None:
        s = self.settings
        for spin, value in (
            (self.size_spin, round(s.size)),
            (self.hardness_spin, round(s.hardness * 100)),
            (self.opacity_spin, round(s.opacity * 100)),
            (self.tolerance_spin, s.tolerance),
        ):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        for box, value in (
            (self.mask_soft, s.mask_soft),
            (self.pressure_size, s.pressure_size),
            (self.pressure_opacity, s.pressure_opacity),
        ):
            box.blockSignals(True)
            box.setChecked(value)
            box.blockSignals(False)
        self.color_button.setIcon(_color_icon(s.color))

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(QColor(*self.settings.color), self, "Brush colour")
        if color.isValid():
            self.settings.set_value("color", (color.red(), color.green(), color.blue()))
