"""The Palette dock: searchable classes with swatches, recently used, label overlay controls."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from studio.document.document import Document
from studio.document.layers import LABEL
from studio.document.palette import PALETTE_FILES, Palette, PaletteEntry, load_palette
from studio.ui.canvas.tool_settings import ToolSettings

RECENT = 8


def swatch(rgb: tuple[int, int, int], size: int = 16) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)


class PalettePanel(QWidget):
    """Type to filter, Up/Down to move, Enter (or click) to paint with that class."""

    def __init__(self, document: Document, settings: ToolSettings, parent=None) -> None:
        super().__init__(parent)
        self.document, self.settings = document, settings
        self.recent_values: list[int] = []
        self.palette_combo = QComboBox()
        self.palette_combo.addItems(list(PALETTE_FILES))
        self.palette_combo.setToolTip("Palette for new label layers")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search classes…")
        self.search.setToolTip("Type to filter; Up/Down to move; Enter to choose")
        self.list = QListWidget()
        self.list.setIconSize(QSize(16, 16))
        self.recent = QListWidget()
        self.recent.setFlow(QListWidget.Flow.LeftToRight)
        self.recent.setMaximumHeight(30)
        self.recent.setIconSize(QSize(16, 16))
        self.recent.setToolTip("Recently used classes")
        self.current_label = QLabel("No class chosen")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setToolTip("Opacity of the active label layer over the image")
        self.alone = QCheckBox("Labels alone")
        self.alone.setToolTip("Show only the label layers (Ctrl+L)")
        layout = QVBoxLayout(self)
        layout.addWidget(self.palette_combo)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(QLabel("Recent"))
        layout.addWidget(self.recent)
        layout.addWidget(self.current_label)
        row = QHBoxLayout()
        row.addWidget(QLabel("Overlay"))
        row.addWidget(self.opacity, 1)
        row.addWidget(self.alone)
        layout.addLayout(row)
        self._drag_group = 0
        self.palette_combo.currentTextChanged.connect(self._on_palette_picked)
        self.search.textChanged.connect(self._fill)
        self.search.returnPressed.connect(self._choose_current)
        self.search.installEventFilter(self)
        self.list.itemActivated.connect(self._choose)
        self.list.itemClicked.connect(self._choose)
        self.recent.itemClicked.connect(self._choose)
        self.opacity.valueChanged.connect(self._on_opacity)
        self.opacity.sliderPressed.connect(self._new_drag)
        self.alone.toggled.connect(document.set_labels_alone)
        document.active_layer_changed.connect(lambda _id: self.sync())
        document.layers_changed.connect(self.sync)
        settings.label_changed.connect(self._on_label)
        self.sync()

    # ---- state ----------------------------------------------------------------------------
    def palette(self) -> Palette:
        layer = self.document.active_layer
        if layer is not None and layer.kind == LABEL:
            return layer.palette
        return self.document.default_palette()

    def sync(self) -> None:
        pal = self.palette()
        self.palette_combo.blockSignals(True)
        self.palette_combo.setCurrentText(pal.name)
        self.palette_combo.blockSignals(False)
        layer = self.document.active_layer
        is_label = layer is not None and layer.kind == LABEL
        self.opacity.setEnabled(is_label)
        self.opacity.blockSignals(True)
        self.opacity.setValue(round((layer.opacity if is_label else 0.6) * 100))
        self.opacity.blockSignals(False)
        self.alone.blockSignals(True)
        self.alone.setChecked(self.document.labels_alone)
        self.alone.blockSignals(False)
        if getattr(self, "_shown", None) is not pal:
            self._shown = pal
            self._fill()
        if is_label and pal.entry(self.settings.label_value) is None and pal.entries:
            self.settings.set_label(pal.entries[0].value)  # never a brush that paints nothing
        self._on_label(self.settings.label_value)

    def _fill(self) -> None:
        pal = self.palette()
        self.list.clear()
        for entry in pal.search(self.search.text()):
            self.list.addItem(self._item(entry))
        if self.list.count():
            self.list.setCurrentRow(0)

    def _item(self, entry: PaletteEntry) -> QListWidgetItem:
        item = QListWidgetItem(swatch(entry.rgb), entry.name)
        item.setData(Qt.ItemDataRole.UserRole, entry.value)
        item.setToolTip(f"{entry.name} · value {entry.value} · RGB {entry.rgb}")
        return item

    # ---- choosing -------------------------------------------------------------------------
    def _choose(self, item: QListWidgetItem) -> None:
        self.settings.set_label(int(item.data(Qt.ItemDataRole.UserRole)))

    def _choose_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self._choose(item)

    def _on_label(self, value: int) -> None:
        entry = self.palette().entry(value) if value else None
        self.current_label.setText(
            f"Painting: {entry.name} ({value})" if entry else "No class chosen"
        )
        if entry is None:
            return
        if value in self.recent_values:
            self.recent_values.remove(value)
        self.recent_values.insert(0, value)
        del self.recent_values[RECENT:]
        self.recent.clear()
        pal = self.palette()
        for v in self.recent_values:
            e = pal.entry(v)
            if e is not None:
                self.recent.addItem(self._item(e))

    def eventFilter(self, obj, event) -> bool:
        """Up/Down in the search field move through the list."""
        if obj is self.search and event.type() == event.Type.KeyPress:
            step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1}.get(event.key())
            if step and self.list.count():
                row = max(0, min(self.list.count() - 1, self.list.currentRow() + step))
                self.list.setCurrentRow(row)
                return True
        return super().eventFilter(obj, event)

    # ---- palette and overlay --------------------------------------------------------------
    def _on_palette_picked(self, name: str) -> None:
        self.document.palette = load_palette(name)
        layer = self.document.active_layer
        if layer is not None and layer.kind == LABEL and layer.palette.name != name:
            self.settings.notice.emit(
                f"New label layers will use {name}; the active layer keeps {layer.palette.name}."
            )
        self._shown = None
        self._fill()

    def _new_drag(self) -> None:
        self._drag_group = self.document.new_merge_group()

    def _on_opacity(self, value: int) -> None:
        layer = self.document.active_layer
        if layer is not None and layer.kind == LABEL:
            group = self._drag_group if self.opacity.isSliderDown() else 0
            self.document.set_opacity(layer.id, value / 100.0, group)
