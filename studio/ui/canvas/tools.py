"""Canvas tools: brush, eraser, fill, eyedropper, rectangle and lasso selection.

The canvas feeds tools document coordinates (float pixels), pen pressure (1.0 for a mouse)
and keyboard modifiers; each tool turns a press-move-release into at most one undo step.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath, QPolygonF

from studio.document.document import Document
from studio.document.layers import LABEL, MASK, Layer
from studio.document.paint import (
    Stroke,
    fill_pixels,
    flood_region,
    polygon_mask,
    rect_mask,
)
from studio.ui.canvas.tool_settings import ToolSettings


class Tool:
    """Base class: ignores everything; `outline` says whether to draw the brush circle."""

    name = "tool"
    outline = False

    def __init__(self, document: Document, settings: ToolSettings) -> None:
        self.document, self.settings = document, settings

    def press(self, pos: QPointF, pressure: float, modifiers: Qt.KeyboardModifier) -> None:
        pass

    def move(self, pos: QPointF, pressure: float) -> None:
        pass

    def release(self, pos: QPointF) -> None:
        pass

    def overlay(self) -> QPainterPath | None:
        """Shape in progress, in document coordinates (drawn by the canvas)."""
        return None

    def _editable_layer(self) -> Layer | None:
        layer = self.document.active_layer
        if layer is None:
            self.settings.notice.emit("There is no active layer to paint on.")
        elif layer.locked:
            self.settings.notice.emit(f"Layer {layer.name} is locked.")
        elif not layer.visible:
            self.settings.notice.emit(f"Layer {layer.name} is hidden; show it to paint on it.")
        else:
            return layer
        return None

    def _inside(self, layer: Layer, pos: QPointF) -> tuple[int, int] | None:
        x, y = int(pos.x() // 1), int(pos.y() // 1)
        return (x, y) if 0 <= x < layer.width and 0 <= y < layer.height else None


class BrushTool(Tool):
    """Paints (or erases) one stroke per drag; Shift-click draws a line from the last point."""

    name = "brush"
    outline = True
    eraser = False

    def __init__(self, document: Document, settings: ToolSettings) -> None:
        super().__init__(document, settings)
        self.stroke: Stroke | None = None
        self.last_point: QPointF | None = None
        self._last_layer: int | None = None

    def _paint_value(self, layer: Layer):
        if layer.kind == LABEL:
            return self.settings.label_value
        if layer.kind == MASK:
            return 255
        return self.settings.color

    def press(self, pos: QPointF, pressure: float, modifiers: Qt.KeyboardModifier) -> None:
        layer = self._editable_layer()
        if layer is None:
            return
        value = self._paint_value(layer)
        if layer.kind == LABEL and not self.eraser and value == 0:
            self.settings.notice.emit("Pick a class in the Palette panel first.")
            return
        hard = layer.kind == LABEL or (layer.kind == MASK and not self.settings.mask_soft)
        brush = self.settings.brush(hard)
        self.stroke = Stroke(layer, brush, value, self.eraser, self.document.selection)
        line = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        if line and self.last_point is not None and self._last_layer == layer.id:
            self.stroke.add_point(self.last_point.x(), self.last_point.y(), pressure)
        self._painted(self.stroke.add_point(pos.x(), pos.y(), pressure))

    def move(self, pos: QPointF, pressure: float) -> None:
        if self.stroke is not None:
            self._painted(self.stroke.add_point(pos.x(), pos.y(), pressure))

    def _painted(self, rect) -> None:
        if rect is not None:  # the rectangle of the dabs just stamped
            self.document.notify_painted(self.stroke.layer, rect)

    def release(self, pos: QPointF) -> None:
        stroke, self.stroke = self.stroke, None
        if stroke is None:
            return
        self.last_point, self._last_layer = QPointF(pos), stroke.layer.id
        done = stroke.finish()
        if done is not None:
            rect, before = done
            text = ("Eraser" if self.eraser else "Brush") + f" on {stroke.layer.name}"
            self.document.commit_pixels(stroke.layer, rect, before, text)


class EraserTool(BrushTool):
    """Erases to transparent (raster), unlabeled (label) or unmasked (mask)."""

    name = "eraser"
    eraser = True


class FillTool(Tool):
    """Fills the connected region: exact class on label layers, colour tolerance on rasters."""

    name = "fill"

    def press(self, pos: QPointF, pressure: float, modifiers: Qt.KeyboardModifier) -> None:
        layer = self._editable_layer()
        where = self._inside(layer, pos) if layer is not None else None
        if where is None:
            return
        if layer.kind == LABEL:
            value, tolerance = self.settings.label_value, 0
            if value == 0:
                self.settings.notice.emit("Pick a class in the Palette panel first.")
                return
        elif layer.kind == MASK:
            value, tolerance = 255, self.settings.tolerance
        else:
            value, tolerance = self.settings.color, self.settings.tolerance
        region = flood_region(layer, where[0], where[1], tolerance)
        selection = self.document.selection
        if selection is not None and selection.shape == region.shape:
            region &= selection
        self.document.replace_pixels(layer, fill_pixels(layer, region, value), "Fill")


class EyedropperTool(Tool):
    """Picks the class under the cursor on a label layer, else the visible image colour."""

    name = "eyedropper"

    def press(self, pos: QPointF, pressure: float, modifiers: Qt.KeyboardModifier) -> None:
        layer = self.document.active_layer
        if layer is not None and layer.kind == LABEL:
            where = self._inside(layer, pos)
            if where is not None:
                value = int(layer.pixels[where[1], where[0]])
                if value:
                    self.settings.set_label(value)
                else:
                    self.settings.notice.emit("No class is painted there.")
            return
        x, y = int(pos.x() // 1), int(pos.y() // 1)
        if 0 <= x < self.document.width and 0 <= y < self.document.height:
            pixel = self.document.image_composite()[y, x]
            self.settings.set_value("color", tuple(int(c) for c in pixel[:3]))


class RectSelectTool(Tool):
    """Drag a rectangle to select it; a click without dragging deselects."""

    name = "select_rect"

    def __init__(self, document: Document, settings: ToolSettings) -> None:
        super().__init__(document, settings)
        self.start: QPointF | None = None
        self.end: QPointF | None = None

    def press(self, pos: QPointF, pressure: float, modifiers: Qt.KeyboardModifier) -> None:
        self.start = self.end = QPointF(pos)

    def move(self, pos: QPointF, pressure: float) -> None:
        if self.start is not None:
            self.end = QPointF(pos)

    def release(self, pos: QPointF) -> None:
        if self.start is None:
            return
        rect = QRectF(self.start, pos).normalized()
        self.start = self.end = None
        d = self.document
        x0, y0 = round(rect.left()), round(rect.top())
        x1, y1 = round(rect.right()), round(rect.bottom())
        if x1 - x0 < 1 or y1 - y0 < 1:
            d.set_selection(None, "Deselect")
            return
        d.set_selection(rect_mask((x0, y0, x1, y1), d.width, d.height), "Rectangle selection")

    def overlay(self) -> QPainterPath | None:
        if self.start is None or self.end is None:
            return None
        path = QPainterPath()
        path.addRect(QRectF(self.start, self.end).normalized())
        return path


class LassoTool(Tool):
    """Drag a free-hand outline; it closes itself and selects the inside."""

    name = "select_lasso"

    def __init__(self, document: Document, settings: ToolSettings) -> None:
        super().__init__(document, settings)
        self.points: list[QPointF] = []

    def press(self, pos: QPointF, pressure: float, modifiers: Qt.KeyboardModifier) -> None:
        self.points = [QPointF(pos)]

    def move(self, pos: QPointF, pressure: float) -> None:
        if self.points:
            self.points.append(QPointF(pos))

    def release(self, pos: QPointF) -> None:
        points, self.points = [(p.x(), p.y()) for p in self.points], []
        d = self.document
        if len(points) < 3:
            d.set_selection(None, "Deselect")
            return
        mask = polygon_mask(points, d.width, d.height)
        d.set_selection(mask if np.any(mask) else None, "Lasso selection")

    def overlay(self) -> QPainterPath | None:
        if len(self.points) < 2:
            return None
        path = QPainterPath()
        path.addPolygon(QPolygonF(self.points))
        path.closeSubpath()
        return path


TOOL_CLASSES = (BrushTool, EraserTool, FillTool, EyedropperTool, RectSelectTool, LassoTool)
