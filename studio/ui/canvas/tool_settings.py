"""Shared tool options: brush size/hardness/opacity, colours, current label class, tolerance."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from studio.document.paint import BrushSettings

MIN_SIZE, MAX_SIZE = 1.0, 1000.0


class ToolSettings(QObject):
    """What every tool reads; panels and shortcuts write it."""

    changed = Signal()
    label_changed = Signal(int)  # the class value the label brush paints
    notice = Signal(str)  # a short message for the status bar (e.g. "layer is locked")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.size = 24.0
        self.hardness = 0.8
        self.opacity = 1.0
        self.color = (0, 0, 0)
        self.background = (255, 255, 255)
        self.label_value = 0
        self.label_background = 0
        self.tolerance = 16
        self.mask_soft = True
        self.pressure_size = True
        self.pressure_opacity = False

    def brush(self, hard: bool = False) -> BrushSettings:
        return BrushSettings(
            self.size,
            1.0 if hard else self.hardness,
            self.opacity,
            self.pressure_size,
            self.pressure_opacity,
        )

    def set_size(self, size: float) -> None:
        size = max(MIN_SIZE, min(MAX_SIZE, float(size)))
        if size != self.size:
            self.size = size
            self.changed.emit()

    def grow(self, factor: float) -> None:
        """[ and ]: change the size by a factor (at least one pixel)."""
        new = self.size * factor
        if abs(new - self.size) < 1:
            new = self.size + (1 if factor > 1 else -1)
        self.set_size(round(new))

    def set_value(self, name: str, value) -> None:
        if getattr(self, name) != value:
            setattr(self, name, value)
            self.changed.emit()

    def set_label(self, value: int) -> None:
        if value != self.label_value:
            self.label_background = self.label_value
            self.label_value = int(value)
            self.label_changed.emit(self.label_value)
            self.changed.emit()

    def swap(self) -> None:
        """X: swap foreground and background colours (and the two most recent classes)."""
        self.color, self.background = self.background, self.color
        self.label_value, self.label_background = self.label_background, self.label_value
        self.label_changed.emit(self.label_value)
        self.changed.emit()
