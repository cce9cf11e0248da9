"""The open document: canvas size, layer stack, active layer and the undo stack."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from studio.document.layers import Layer, composite, solid


class Document(QObject):
    """Holds layers bottom-to-top; every change goes through an undo command."""

    layers_changed = Signal()
    size_changed = Signal(int, int)
    active_layer_changed = Signal(int)  # layer id, or -1

    def __init__(self, width: int = 512, height: int = 512, parent: QObject | None = None):
        super().__init__(parent)
        self.width = width
        self.height = height
        self.layers: list[Layer] = [Layer("Background", solid(width, height, (255, 255, 255, 255)))]
        self.undo_stack = QUndoStack(self)
        self._active_id = self.layers[0].id

    # ---- queries ------------------------------------------------------------------------
    def composite(self) -> np.ndarray:
        """HxWx4 uint8 of all visible layers."""
        return composite(self.layers, self.width, self.height)

    def layer(self, layer_id: int) -> Layer | None:
        return next((layer for layer in self.layers if layer.id == layer_id), None)

    def index_of(self, layer_id: int) -> int:
        for i, layer in enumerate(self.layers):
            if layer.id == layer_id:
                return i
        raise KeyError(f"no layer with id {layer_id}")

    @property
    def active_layer(self) -> Layer | None:
        return self.layer(self._active_id)

    def set_active_layer(self, layer_id: int) -> None:
        if layer_id != self._active_id and self.layer(layer_id) is not None:
            self._active_id = layer_id
            self.active_layer_changed.emit(layer_id)

    # ---- edits (undoable) ---------------------------------------------------------------
    def add_layer(self, layer: Layer, text: str | None = None) -> None:
        """Push a layer on top, as one undo step."""
        self.undo_stack.push(AddLayerCommand(self, layer, len(self.layers), text))

    def add_result_layer(self, layer: Layer, text: str) -> None:
        """Add a generated layer as one undo step, growing/shrinking the canvas to its size."""
        if (layer.width, layer.height) == (self.width, self.height):
            self.add_layer(layer, text)
            return
        self.undo_stack.beginMacro(text)
        self.undo_stack.push(ResizeCanvasCommand(self, layer.width, layer.height))
        self.add_layer(layer, text)
        self.undo_stack.endMacro()

    def remove_layer(self, layer_id: int) -> None:
        layer = self.layer(layer_id)
        if layer is not None:
            self.undo_stack.push(RemoveLayerCommand(self, layer))

    def set_visible(self, layer_id: int, visible: bool) -> None:
        layer = self.layer(layer_id)
        if layer is not None and layer.visible != visible:
            self.undo_stack.push(SetVisibleCommand(self, layer, visible))

    # ---- used by commands ---------------------------------------------------------------
    def _insert(self, index: int, layer: Layer) -> None:
        self.layers.insert(index, layer)
        self.layers_changed.emit()
        self.set_active_layer(layer.id)

    def _take(self, layer: Layer) -> int:
        index = self.index_of(layer.id)
        del self.layers[index]
        if self._active_id == layer.id:
            below = self.layers[min(index, len(self.layers) - 1)] if self.layers else None
            self._active_id = below.id if below is not None else -1
            self.active_layer_changed.emit(self._active_id)
        self.layers_changed.emit()
        return index


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
