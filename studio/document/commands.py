"""Undo commands for every document edit; pixel edits store only the changed rectangle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtGui import QUndoCommand

from studio.document.layers import Layer

if TYPE_CHECKING:
    from studio.document.document import Document

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), document pixels

PROPERTY_COMMAND_ID = 7001


class AddLayerCommand(QUndoCommand):
    """Adds one layer (for example a generation result); undo removes it."""

    def __init__(self, doc: Document, layer: Layer, index: int, text: str | None = None):
        super().__init__(text or f"Add layer {layer.name}")
        self.doc, self.layer, self.index = doc, layer, index
        self._previous_active = doc.active_layer.id if doc.active_layer else -1

    def redo(self) -> None:
        self.doc._insert(self.index, self.layer)

    def undo(self) -> None:
        self.doc._take(self.layer)
        self.doc.set_active_layer(self._previous_active)


class RemoveLayerCommand(QUndoCommand):
    """Removes one layer; undo puts it back where it was."""

    def __init__(self, doc: Document, layer: Layer):
        super().__init__(f"Delete layer {layer.name}")
        self.doc, self.layer = doc, layer
        self.index = doc.index_of(layer.id)

    def redo(self) -> None:
        self.doc._take(self.layer)

    def undo(self) -> None:
        self.doc._insert(self.index, self.layer)


class SetVisibleCommand(QUndoCommand):
    """Shows or hides a layer."""

    def __init__(self, doc: Document, layer: Layer, visible: bool):
        super().__init__(("Show" if visible else "Hide") + f" layer {layer.name}")
        self.doc, self.layer, self.visible = doc, layer, visible

    def redo(self) -> None:
        self.layer.visible = self.visible
        self.doc.layers_changed.emit()

    def undo(self) -> None:
        self.layer.visible = not self.visible
        self.doc.layers_changed.emit()


class LayerPropertyCommand(QUndoCommand):
    """Sets one layer attribute (name, opacity, locked); drags with the same `group` merge."""

    def __init__(
        self, doc: Document, layer: Layer, attr: str, value: Any, text: str, group: int = 0
    ):
        super().__init__(text)
        self.doc, self.layer, self.attr, self.group = doc, layer, attr, group
        self.before, self.after = getattr(layer, attr), value

    def id(self) -> int:
        return PROPERTY_COMMAND_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, LayerPropertyCommand) or not self.group:
            return False
        same = (other.layer is self.layer, other.attr, other.group) == (True, self.attr, self.group)
        if same:
            self.after = other.after
            self.setText(other.text())
        return same

    def redo(self) -> None:
        setattr(self.layer, self.attr, self.after)
        self.doc.layers_changed.emit()

    def undo(self) -> None:
        setattr(self.layer, self.attr, self.before)
        self.doc.layers_changed.emit()


class MoveLayerCommand(QUndoCommand):
    """Moves a layer to another position in the stack (0 = bottom)."""

    def __init__(self, doc: Document, layer: Layer, index: int):
        super().__init__(f"Move layer {layer.name}")
        self.doc, self.layer = doc, layer
        self.before, self.after = doc.index_of(layer.id), index

    def _move(self, index: int) -> None:
        layers = self.doc.layers
        layers.remove(self.layer)
        layers.insert(index, self.layer)
        self.doc.layers_changed.emit()

    def redo(self) -> None:
        self._move(self.after)

    def undo(self) -> None:
        self._move(self.before)


class PaintCommand(QUndoCommand):
    """Before/after pixels of one rectangle of one layer (one stroke, fill or mask operation)."""

    def __init__(
        self,
        doc: Document,
        layer: Layer,
        rect: Rect,
        before: np.ndarray,
        after: np.ndarray,
        text: str,
        applied: bool = True,
    ):
        super().__init__(text)
        self.doc, self.layer, self.rect = doc, layer, rect
        self.before, self.after = before, after
        self._skip_first_redo = applied  # the tool already painted the pixels live

    def _write(self, pixels: np.ndarray) -> None:
        x0, y0, x1, y1 = self.rect
        self.layer.writable_pixels()[y0:y1, x0:x1] = pixels
        self.doc.pixels_changed.emit(self.layer.id)
        self.doc.layers_changed.emit()

    def redo(self) -> None:
        if self._skip_first_redo:
            self._skip_first_redo = False
            self.doc.layers_changed.emit()
            return
        self._write(self.after)

    def undo(self) -> None:
        self._write(self.before)


class SelectionCommand(QUndoCommand):
    """Replaces the selection (HxW bool, or None for 'everything')."""

    def __init__(self, doc: Document, selection: np.ndarray | None, text: str):
        super().__init__(text)
        self.doc = doc
        self.before, self.after = doc.selection, selection

    def redo(self) -> None:
        self.doc._set_selection(self.after)

    def undo(self) -> None:
        self.doc._set_selection(self.before)


class ResizeCanvasCommand(QUndoCommand):
    """Changes the canvas size; layers keep their pixels (anchored top-left)."""

    def __init__(self, doc: Document, width: int, height: int):
        super().__init__(f"Canvas size {width}×{height}")
        self.doc = doc
        self.before = (doc.width, doc.height)
        self.after = (width, height)

    def _apply(self, size: tuple[int, int]) -> None:
        self.doc.width, self.doc.height = size
        self.doc.size_changed.emit(*size)
        self.doc.layers_changed.emit()

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)


class GrowCanvasCommand(QUndoCommand):
    """Adds empty borders (px per side) to the canvas and every layer; undo crops them off."""

    def __init__(self, doc: Document, left: int, top: int, right: int, bottom: int):
        super().__init__(f"Extend canvas by {left}/{top}/{right}/{bottom} px")
        self.doc = doc
        self.sides = (left, top, right, bottom)
        self.layers = list(doc.layers)
        self.before = (doc.width, doc.height)
        self.selection = doc.selection

    def redo(self) -> None:
        left, top, right, bottom = self.sides
        for layer in self.layers:
            pad = ((top, bottom), (left, right)) + ((0, 0),) * (layer.pixels.ndim - 2)
            layer.pixels = np.pad(layer.pixels, pad)  # transparent / unlabeled / unmasked
        w, h = self.before
        self.doc.selection = None
        self._apply((w + left + right, h + top + bottom))

    def undo(self) -> None:
        left, top, _right, _bottom = self.sides
        for layer in self.layers:
            h, w = layer.pixels.shape[:2]
            inner_h = h - self.sides[1] - self.sides[3]
            inner_w = w - self.sides[0] - self.sides[2]
            layer.pixels = layer.pixels[top : top + inner_h, left : left + inner_w].copy()
        self.doc.selection = self.selection
        self._apply(self.before)

    def _apply(self, size: tuple[int, int]) -> None:
        self.doc.width, self.doc.height = size
        self.doc.size_changed.emit(*size)
        self.doc.selection_changed.emit()
        self.doc.layers_changed.emit()
