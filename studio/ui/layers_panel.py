"""The Layers dock: thumbnails, names, visibility, the active layer, delete."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.document.document import Document
from studio.ui.qimage import qimage_from_array

THUMB = 48


class LayersPanel(QWidget):
    """Top layer first, like every paint program; the check box shows or hides a layer."""

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setToolTip("Layers: click to make active, tick to show or hide")
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemChanged.connect(self._on_item_changed)
        self.delete_button = QPushButton("Delete layer")
        self.delete_button.setToolTip("Delete the active layer (undoable)")
        self.delete_button.clicked.connect(self._delete_active)
        buttons = QHBoxLayout()
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self._thumbs: dict[int, tuple[int, QIcon]] = {}
        document.layers_changed.connect(self.rebuild)
        document.active_layer_changed.connect(self._select)
        self.rebuild()

    def _thumbnail(self, layer) -> QIcon:
        key = id(layer.pixels)
        cached = self._thumbs.get(layer.id)
        if cached and cached[0] == key:
            return cached[1]
        image = qimage_from_array(layer.pixels).scaled(
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
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
            tip = layer.name
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

    def _select(self, layer_id: int) -> None:
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
        visible = item.checkState() == Qt.CheckState.Checked
        self.document.set_visible(int(item.data(Qt.ItemDataRole.UserRole)), visible)

    def _delete_active(self) -> None:
        active = self.document.active_layer
        if active is not None:
            self.document.remove_layer(active.id)
