"""The Layers dock: thumbnails, names, visibility, opacity, lock, order, add/duplicate/delete."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from studio.document.document import Document
from studio.document.layers import LABEL, MASK, Layer, display_rgba
from studio.ui.canvas.qimage import qimage_from_array

THUMB = 48
KIND_MARK = {LABEL: "  [labels]", MASK: "  [mask]"}


class LayerList(QListWidget):
    """Top layer first; drag a row to reorder (becomes one undoable move)."""

    def __init__(self, panel: LayersPanel) -> None:
        super().__init__()
        self.panel = panel
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)

    def dropEvent(self, event) -> None:
        item = self.currentItem()
        super().dropEvent(event)  # Qt moved the row; the document decides the real order
        if item is not None:
            self.panel.row_moved(int(item.data(Qt.ItemDataRole.UserRole)), self.row(item))


class LayersPanel(QWidget):
    """Top layer first, like every paint program; the check box shows or hides a layer."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.list = LayerList(self)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setToolTip(
            "Layers: click to make active, tick to show or hide, double-click to rename, "
            "drag to reorder"
        )
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemChanged.connect(self._on_item_changed)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Opacity of the active layer (one drag = one undo step)")
        self.opacity.sliderPressed.connect(self._new_drag)
        self.opacity.valueChanged.connect(self._on_opacity)
        self.lock = QCheckBox("Lock")
        self.lock.setToolTip("Locked layers cannot be painted on")
        self.lock.toggled.connect(self._on_lock)
        self._group = 0
        self.delete_button = self._button("Delete layer", "Delete the active layer (undoable)")
        self.delete_button.clicked.connect(self._delete_active)
        self.add_raster = self._button("+ Raster", "New transparent raster layer")
        self.add_label = self._button("+ Labels", "New label layer (palette classes)")
        self.add_mask = self._button("+ Mask", "New mask layer")
        self.duplicate_button = self._button("Duplicate", "Duplicate the active layer")
        self.up_button = self._button("▲", "Move the active layer up")
        self.down_button = self._button("▼", "Move the active layer down")
        self.add_raster.clicked.connect(self._new_raster)
        self.add_label.clicked.connect(lambda: document.add_label_layer())
        self.add_mask.clicked.connect(lambda: document.add_mask_layer())
        self.duplicate_button.clicked.connect(self._duplicate)
        self.up_button.clicked.connect(lambda: self._shift(1))
        self.down_button.clicked.connect(lambda: self._shift(-1))
        props = QHBoxLayout()
        props.addWidget(QLabel("Opacity"))
        props.addWidget(self.opacity, 1)
        props.addWidget(self.lock)
        adds = QHBoxLayout()
        for b in (self.add_raster, self.add_label, self.add_mask):
            adds.addWidget(b)
        buttons = QHBoxLayout()
        for b in (self.duplicate_button, self.up_button, self.down_button, self.delete_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(props)
        layout.addWidget(self.list)
        layout.addLayout(adds)
        layout.addLayout(buttons)
        self._thumbs: dict[int, tuple[tuple, QIcon]] = {}
        document.layers_changed.connect(self.rebuild)
        document.active_layer_changed.connect(self._select)
        self.rebuild()

    def _button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        return button

    def _thumbnail(self, layer: Layer) -> QIcon:
        key = (id(layer.pixels), layer.version, layer.opacity)
        cached = self._thumbs.get(layer.id)
        if cached and cached[0] == key:
            return cached[1]
        # every n-th pixel first: a 2048² layer costs what a 192² one does
        step = max(1, max(layer.width, layer.height) // (4 * THUMB))
        small = display_rgba(layer.kind, layer.pixels[::step, ::step], layer.palette)
        image = qimage_from_array(small).scaled(
            THUMB,
            THUMB,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        icon = QIcon(QPixmap.fromImage(image))
        self._thumbs[layer.id] = (key, icon)
        return icon

    def rebuild(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for layer in reversed(self.document.layers):
            item = QListWidgetItem(self._thumbnail(layer), layer.name)
            item.setData(Qt.ItemDataRole.UserRole, layer.id)
            item.setFlags(
                item.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable
            )
            item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
            tip = layer.name + KIND_MARK.get(layer.kind, "")
            tip += "  (locked)" if layer.locked else ""
            if layer.kind == LABEL:
                tip += f"\npalette {layer.palette.name}"
            if layer.metadata:
                r = layer.metadata
                tip += (
                    f"\nseed {r.get('seed')} · {r.get('sampler')} · {r.get('steps_done')} "
                    f"steps · {r.get('width')}×{r.get('height')}"
                )
            item.setToolTip(tip)
            self.list.addItem(item)
        self.list.blockSignals(False)
        active = self.document.active_layer
        if active is not None:
            self._select(active.id)
        self.delete_button.setEnabled(len(self.document.layers) > 0)

    def _sync_props(self) -> None:
        layer = self.document.active_layer
        for widget in (self.opacity, self.lock):
            widget.blockSignals(True)
            widget.setEnabled(layer is not None)
        if layer is not None:
            self.opacity.setValue(round(layer.opacity * 100))
            self.lock.setChecked(layer.locked)
        for widget in (self.opacity, self.lock):
            widget.blockSignals(False)

    def _select(self, layer_id: int) -> None:
        self._sync_props()
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == layer_id:
                self.list.blockSignals(True)
                self.list.setCurrentItem(item)
                self.list.blockSignals(False)
                return

    def _on_current(self, current: QListWidgetItem | None, _previous) -> None:
        if current is not None:
            self.document.set_active_layer(int(current.data(Qt.ItemDataRole.UserRole)))

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        layer_id = int(item.data(Qt.ItemDataRole.UserRole))
        layer = self.document.layer(layer_id)
        if layer is None:
            return
        visible = item.checkState() == Qt.CheckState.Checked
        if visible != layer.visible:
            self.document.set_visible(layer_id, visible)
        elif item.text().strip() and item.text() != layer.name:
            self.document.rename_layer(layer_id, item.text().strip())

    def row_moved(self, layer_id: int, row: int) -> None:
        """A row dropped at `row` (0 = top) becomes stack index count-1-row."""
        index = len(self.document.layers) - 1 - row
        if self.document.layer(layer_id) is not None:
            self.document.move_layer(layer_id, index)
        self.rebuild()

    def _new_drag(self) -> None:
        self._group = self.document.new_merge_group()

    def _on_opacity(self, value: int) -> None:
        layer = self.document.active_layer
        if layer is not None:
            group = self._group if self.opacity.isSliderDown() else 0
            self.document.set_opacity(layer.id, value / 100.0, group)

    def _on_lock(self, locked: bool) -> None:
        layer = self.document.active_layer
        if layer is not None:
            self.document.set_locked(layer.id, locked)

    def _new_raster(self) -> None:
        d = self.document
        d.add_layer(Layer("Layer", np.zeros((d.height, d.width, 4), np.uint8)))

    def _duplicate(self) -> None:
        active = self.document.active_layer
        if active is not None:
            self.document.duplicate_layer(active.id)

    def _shift(self, step: int) -> None:
        active = self.document.active_layer
        if active is not None:
            self.document.move_layer(active.id, self.document.index_of(active.id) + step)

    def _delete_active(self) -> None:
        active = self.document.active_layer
        if active is not None:
            self.document.remove_layer(active.id)
