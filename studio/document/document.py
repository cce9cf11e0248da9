"""The open document: canvas size, layer stack, active layer, selection and the undo stack."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from studio.document.commands import (
    AddLayerCommand,
    GrowCanvasCommand,
    LayerPropertyCommand,
    MoveLayerCommand,
    PaintCommand,
    Rect,
    RemoveLayerCommand,
    ResizeCanvasCommand,
    SelectionCommand,
    SetVisibleCommand,
)
from studio.document.layers import Layer, composite, label_layer, mask_layer, solid
from studio.document.palette import Palette, load_palette

__all__ = [
    "AddLayerCommand",
    "Document",
    "RemoveLayerCommand",
    "ResizeCanvasCommand",
    "SetVisibleCommand",
]


class Document(QObject):
    """Holds layers bottom-to-top; every change goes through an undo command."""

    layers_changed = Signal()
    size_changed = Signal(int, int)
    active_layer_changed = Signal(int)  # layer id, or -1
    pixels_changed = Signal(int)  # layer id, while a tool paints (no undo step yet)
    region_changed = Signal(int, int, int, int)  # x0, y0, x1, y1 repainted live by a tool
    selection_changed = Signal()

    def __init__(self, width: int = 512, height: int = 512, parent: QObject | None = None):
        super().__init__(parent)
        self.width = width
        self.height = height
        self.layers: list[Layer] = [Layer("Background", solid(width, height, (255, 255, 255, 255)))]
        self.undo_stack = QUndoStack(self)
        self._active_id = self.layers[0].id
        self.selection: np.ndarray | None = None  # HxW bool; None = nothing selected
        self.labels_alone = False  # view: show only label layers
        self.palette: Palette | None = None  # palette for new label layers (default Landscape)
        self.generation_settings: dict[str, Any] = {}  # saved with the project
        self.path: str | None = None  # the .studio file, once saved or opened
        self._merge_groups = 0

    # ---- queries ------------------------------------------------------------------------
    def composite(self, rect: Rect | None = None) -> np.ndarray:
        """HxWx4 uint8 of all visible layers (label layers through their palettes).

        With `rect` (x0, y0, x1, y1) only that part is computed.
        """
        return composite(self.layers, self.width, self.height, self.labels_alone, rect)

    def notify_painted(self, layer: Layer, rect: Rect) -> None:
        """A tool changed `rect` of `layer` live (the undo step comes when it finishes)."""
        self.pixels_changed.emit(layer.id)
        self.region_changed.emit(*rect)

    def image_composite(self) -> np.ndarray:
        """HxWx4 uint8 of the visible raster layers only (what generation starts from)."""
        return composite([x for x in self.layers if x.kind == "raster"], self.width, self.height)

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

    def default_palette(self) -> Palette:
        if self.palette is None:
            self.palette = load_palette("Landscape")
        return self.palette

    # ---- layer edits (undoable) ---------------------------------------------------------
    def add_layer(self, layer: Layer, text: str | None = None, index: int | None = None) -> None:
        """Insert a layer (default: on top), as one undo step."""
        where = len(self.layers) if index is None else index
        self.undo_stack.push(AddLayerCommand(self, layer, where, text))

    def add_label_layer(self, name: str = "Labels", palette: Palette | None = None) -> Layer:
        layer = label_layer(name, self.width, self.height, palette or self.default_palette())
        self.add_layer(layer)
        return layer

    def add_mask_layer(self, name: str = "Mask", pixels: np.ndarray | None = None) -> Layer:
        layer = mask_layer(name, self.width, self.height)
        if pixels is not None:
            layer.writable_pixels()[:] = pixels
        self.add_layer(layer)
        return layer

    def add_result_layer(self, layer: Layer, text: str) -> None:
        """Add a generated layer as one undo step, growing/shrinking the canvas to its size."""
        if (layer.width, layer.height) == (self.width, self.height):
            self.add_layer(layer, text)
            return
        self.undo_stack.beginMacro(text)
        self.undo_stack.push(ResizeCanvasCommand(self, layer.width, layer.height))
        self.add_layer(layer, text)
        self.undo_stack.endMacro()

    def extend_for_outpainting(
        self, left: int, top: int, right: int, bottom: int, overlap: int = 8
    ) -> Layer:
        """Grow the canvas and add a mask over the new band (reaching `overlap` px inward),
        as one undo step; inpainting that mask is outpainting."""
        sides = (left, top, right, bottom)
        if min(sides) < 0 or max(sides) == 0:
            raise ValueError(f"extend by amounts of 0 or more, at least one above 0; got {sides}")
        w, h = self.width, self.height
        self.undo_stack.beginMacro("Extend canvas for outpainting")
        self.undo_stack.push(GrowCanvasCommand(self, left, top, right, bottom))
        mask = np.full((self.height, self.width), 255, np.uint8)
        keep_x0, keep_y0 = left + (overlap if left else 0), top + (overlap if top else 0)
        keep_x1 = left + w - (overlap if right else 0)
        keep_y1 = top + h - (overlap if bottom else 0)
        mask[keep_y0:keep_y1, keep_x0:keep_x1] = 0
        layer = self.add_mask_layer("Outpaint band", mask)
        self.undo_stack.endMacro()
        return layer

    def remove_layer(self, layer_id: int) -> None:
        layer = self.layer(layer_id)
        if layer is not None:
            self.undo_stack.push(RemoveLayerCommand(self, layer))

    def duplicate_layer(self, layer_id: int) -> Layer | None:
        layer = self.layer(layer_id)
        if layer is None:
            return None
        copy = layer.copy()
        self.add_layer(copy, f"Duplicate layer {layer.name}", self.index_of(layer_id) + 1)
        return copy

    def move_layer(self, layer_id: int, index: int) -> None:
        """Move to stack position `index` (0 = bottom)."""
        layer = self.layer(layer_id)
        index = max(0, min(len(self.layers) - 1, index))
        if layer is not None and index != self.index_of(layer_id):
            self.undo_stack.push(MoveLayerCommand(self, layer, index))

    def set_visible(self, layer_id: int, visible: bool) -> None:
        layer = self.layer(layer_id)
        if layer is not None and layer.visible != visible:
            self.undo_stack.push(SetVisibleCommand(self, layer, visible))

    def rename_layer(self, layer_id: int, name: str) -> None:
        layer = self.layer(layer_id)
        if layer is not None and name and name != layer.name:
            text = f"Rename layer to {name}"
            self.undo_stack.push(LayerPropertyCommand(self, layer, "name", name, text))

    def new_merge_group(self) -> int:
        """A fresh id for one slider drag: its property commands merge into one undo step."""
        self._merge_groups += 1
        return self._merge_groups

    def set_opacity(self, layer_id: int, opacity: float, group: int = 0) -> None:
        """Set opacity 0..1; calls with the same non-zero `group` (one slider drag) merge."""
        layer = self.layer(layer_id)
        opacity = max(0.0, min(1.0, float(opacity)))
        if layer is not None and opacity != layer.opacity:
            text = f"Opacity {opacity * 100:.0f}% ({layer.name})"
            self.undo_stack.push(LayerPropertyCommand(self, layer, "opacity", opacity, text, group))

    def set_locked(self, layer_id: int, locked: bool) -> None:
        layer = self.layer(layer_id)
        if layer is not None and layer.locked != locked:
            text = ("Lock" if locked else "Unlock") + f" layer {layer.name}"
            self.undo_stack.push(LayerPropertyCommand(self, layer, "locked", locked, text))

    def set_labels_alone(self, alone: bool) -> None:
        """View setting (not undoable): show only the label layers."""
        if alone != self.labels_alone:
            self.labels_alone = alone
            self.layers_changed.emit()

    # ---- pixel edits (undoable) -----------------------------------------------------------
    def commit_pixels(
        self, layer: Layer, rect: Rect, before: np.ndarray, text: str, applied: bool = True
    ) -> None:
        """Record an edit of `rect` whose old pixels were `before` (new ones are in the layer)."""
        x0, y0, x1, y1 = rect
        after = layer.pixels[y0:y1, x0:x1].copy()
        if np.array_equal(before, after):
            return
        self.undo_stack.push(PaintCommand(self, layer, rect, before, after, text, applied))

    def replace_pixels(self, layer: Layer, pixels: np.ndarray, text: str) -> None:
        """Replace a layer's pixels, storing only the bounding box of what changed."""
        changed = pixels != layer.pixels
        if changed.ndim == 3:
            changed = changed.any(axis=2)
        ys, xs = np.nonzero(changed)
        if len(xs) == 0:
            return
        rect = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        x0, y0, x1, y1 = rect
        before = layer.pixels[y0:y1, x0:x1].copy()
        self.undo_stack.push(
            PaintCommand(self, layer, rect, before, pixels[y0:y1, x0:x1].copy(), text, False)
        )

    def set_selection(self, selection: np.ndarray | None, text: str = "Select") -> None:
        if selection is not None and not selection.any():
            selection = None
        if selection is None and self.selection is None:
            return
        self.undo_stack.push(SelectionCommand(self, selection, text))

    # ---- whole-document replacement (new / open / recover; clears undo) --------------------
    def reset(self, width: int, height: int, layers: list[Layer]) -> None:
        """Replace size and layers, forget the undo history and the selection."""
        self.undo_stack.clear()
        self.selection = None
        self.width, self.height = width, height
        self.layers = list(layers)
        self._active_id = self.layers[-1].id if self.layers else -1
        self.generation_settings = {}
        self.path = None
        self.size_changed.emit(width, height)
        self.layers_changed.emit()
        self.active_layer_changed.emit(self._active_id)
        self.selection_changed.emit()
        self.undo_stack.setClean()

    # ---- live draft (not an edit: no undo step) -------------------------------------------
    def show_live_draft(self, pixels: np.ndarray, below: int | None = None) -> Layer:
        """Show HxWx4 pixels in the one live-draft layer, creating it under layer `below`."""
        live = next((la for la in self.layers if la.metadata.get("live_draft")), None)
        if live is None:
            live = Layer("Live draft (SPADE)", pixels, metadata={"live_draft": True})
            index = self.index_of(below) if below is not None and self.layer(below) else 0
            active = self._active_id
            self.layers.insert(index, live)
            self._active_id = active  # painting goes on where it was
            self.layers_changed.emit()
            return live
        live.pixels = pixels
        self.layers_changed.emit()
        return live

    # ---- used by commands ---------------------------------------------------------------
    def _set_selection(self, selection: np.ndarray | None) -> None:
        self.selection = selection
        self.selection_changed.emit()

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
