"""The canvas view: the document composite with zoom, pan and the live preview overlay."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QWidget

from studio.document.document import Document
from studio.ui.qimage import qimage_from_array

MIN_ZOOM, MAX_ZOOM = 0.05, 32.0


def checkerboard(size: int = 16) -> QPixmap:
    tile = QPixmap(size * 2, size * 2)
    tile.fill(QColor(204, 204, 204))
    painter = QPainter(tile)
    painter.fillRect(0, 0, size, size, QColor(153, 153, 153))
    painter.fillRect(size, size, size, size, QColor(153, 153, 153))
    painter.end()
    return tile


class CanvasView(QWidget):
    """Shows the document; wheel zooms around the cursor, middle- or Space-drag pans."""

    zoom_changed = Signal(float)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setMinimumSize(200, 200)
        self.setToolTip("Canvas: wheel to zoom, middle-drag or Space-drag to pan")
        self.zoom = 1.0
        self.offset = QPointF(0, 0)  # widget position of the document's top-left corner
        self._image = QImage()
        self._preview: QImage | None = None
        self._preview_size = (document.width, document.height)
        self._placeholder = ""
        self._pan_from: QPointF | None = None
        self._space = False
        self._fitted_once = False
        self._checker = QBrush(checkerboard())
        document.layers_changed.connect(self.refresh)
        document.size_changed.connect(lambda w, h: self.fit())
        self.refresh()

    # ---- content --------------------------------------------------------------------------
    def refresh(self) -> None:
        self._image = qimage_from_array(self.document.composite())
        self.update()

    def set_preview(self, pixels: np.ndarray | None, size: tuple[int, int] | None = None) -> None:
        """Show a step preview stretched to `size` (document pixels, default: whole canvas)."""
        self._preview = None if pixels is None else qimage_from_array(pixels)
        self._preview_size = size or (self.document.width, self.document.height)
        self.update()

    def set_placeholder(self, text: str) -> None:
        """A plain-words message drawn over the canvas (e.g. when no model is installed)."""
        self._placeholder = text
        self.update()

    @property
    def showing_preview(self) -> bool:
        return self._preview is not None

    # ---- view transform -------------------------------------------------------------------
    def doc_rect(self) -> QRectF:
        return QRectF(
            self.offset.x(),
            self.offset.y(),
            self.document.width * self.zoom,
            self.document.height * self.zoom,
        )

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the document point under `anchor` (widget coords) fixed."""
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        doc_point = (anchor - self.offset) / self.zoom
        self.zoom = zoom
        self.offset = anchor - doc_point * zoom
        self.zoom_changed.emit(zoom)
        self.update()

    def fit(self) -> None:
        margin = 24
        w = max(1, self.width() - 2 * margin)
        h = max(1, self.height() - 2 * margin)
        zoom = min(w / self.document.width, h / self.document.height)
        self.zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        self._center()

    def actual_size(self) -> None:
        self.zoom = 1.0
        self._center()

    def _center(self) -> None:
        size = QPointF(self.document.width * self.zoom, self.document.height * self.zoom)
        self.offset = QPointF(self.width() / 2, self.height() / 2) - size / 2
        self.zoom_changed.emit(self.zoom)
        self.update()

    # ---- events ---------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._fitted_once:
            self._fitted_once = True
            self.fit()

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * (1.15**steps), event.position())
        event.accept()

    def mousePressEvent(self, event) -> None:
        middle = event.button() == Qt.MouseButton.MiddleButton
        if middle or (self._space and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            self.offset += event.position() - self._pan_from
            self._pan_from = event.position()
            self.update()
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.setCursor(
                Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.ArrowCursor
            )
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setCursor(Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().keyReleaseEvent(event)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window().color().darker(115))
        target = self.doc_rect()
        painter.fillRect(target, self._checker)
        smooth = self.zoom < 1.0
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.drawImage(target, self._image)
        if self._preview is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            w, h = self._preview_size
            painter.drawImage(
                QRectF(target.x(), target.y(), w * self.zoom, h * self.zoom), self._preview
            )
        if self._placeholder:
            self._draw_placeholder(painter)
        painter.end()

    def _draw_placeholder(self, painter: QPainter) -> None:
        box = self.rect().adjusted(40, 40, -40, -40)
        painter.setPen(QColor(40, 40, 40))
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        painter.setFont(font)
        painter.drawText(
            box, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._placeholder
        )
