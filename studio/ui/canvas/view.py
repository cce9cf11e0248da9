"""The canvas view: the document composite with zoom, pan and the live preview overlay."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from studio.document.document import Document
from studio.ui.canvas.qimage import qimage_from_array
from studio.ui.canvas.tools import Tool

MIN_ZOOM, MAX_ZOOM = 0.05, 32.0


def checkerboard(size: int = 16) -> QPixmap:
    tile = QPixmap(size * 2, size * 2)
    tile.fill(QColor(204, 204, 204))
    painter = QPainter(tile)
    painter.fillRect(0, 0, size, size, QColor(153, 153, 153))
    painter.fillRect(size, size, size, size, QColor(153, 153, 153))
    painter.end()
    return tile


def selection_overlay(selection: np.ndarray) -> QImage:
    """HxW bool -> a translucent blue tint with a solid edge, as a QImage."""
    h, w = selection.shape
    out = np.zeros((h, w, 4), np.uint8)
    out[selection] = (40, 120, 255, 50)
    edge = selection.copy()
    edge[1:-1, 1:-1] &= ~(
        selection[:-2, 1:-1] & selection[2:, 1:-1] & selection[1:-1, :-2] & selection[1:-1, 2:]
    )
    out[edge] = (20, 80, 230, 230)
    return qimage_from_array(out)


class CanvasView(QWidget):
    """Shows the document; wheel zooms around the cursor, middle- or Space-drag pans.

    The left button (or a pen) drives the current tool in document coordinates.
    """

    zoom_changed = Signal(float)
    files_dropped = Signal(list)  # local paths dropped onto the canvas (import as layers)

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
        self._auto_fit = True  # follow the widget's size until the artist zooms or pans
        self._checker = QBrush(checkerboard())
        self.tool: Tool | None = None
        self._tool_down = False
        self._hover: QPointF | None = None  # widget position of the cursor, for the outline
        self._selection_image: QImage | None = None
        self.setAcceptDrops(True)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking, True)
        document.layers_changed.connect(self.refresh)
        document.region_changed.connect(self.refresh_region)
        document.selection_changed.connect(self._on_selection)
        document.size_changed.connect(lambda w, h: self.fit())
        self.refresh()

    # ---- content --------------------------------------------------------------------------
    def refresh(self) -> None:
        self._image = qimage_from_array(self.document.composite())
        self.update()

    def refresh_region(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """Recompose only a rectangle (live painting), then repaint just that part."""
        if self._image.isNull() or self._image.size().toTuple() != (
            self.document.width,
            self.document.height,
        ):
            self.refresh()
            return
        part = self.document.composite((x0, y0, x1, y1))
        if part.size == 0:
            return
        painter = QPainter(self._image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(x0, y0, qimage_from_array(part))
        painter.end()
        r = self.doc_rect()
        self.update(
            QRectF(
                r.x() + x0 * self.zoom - 2,
                r.y() + y0 * self.zoom - 2,
                (x1 - x0) * self.zoom + 4,
                (y1 - y0) * self.zoom + 4,
            ).toAlignedRect()
        )

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

    def set_tool(self, tool: Tool | None) -> None:
        self.tool = tool
        self.setCursor(self._idle_cursor())
        self.update()

    def _idle_cursor(self) -> Qt.CursorShape:
        """A small cross for tools (the brush circle shows the size), else the arrow."""
        return Qt.CursorShape.CrossCursor if self.tool is not None else Qt.CursorShape.ArrowCursor

    def _on_selection(self) -> None:
        sel = self.document.selection
        self._selection_image = None if sel is None else selection_overlay(sel)
        self.update()

    def to_document(self, widget_pos: QPointF) -> QPointF:
        """Widget position -> document position (float pixels; 0.5 is the first pixel's centre)."""
        return (QPointF(widget_pos) - self.offset) / self.zoom

    def to_widget(self, doc_pos: QPointF) -> QPointF:
        return QPointF(doc_pos) * self.zoom + self.offset

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
        self._auto_fit = False
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        doc_point = (anchor - self.offset) / self.zoom
        self.zoom = zoom
        self.offset = anchor - doc_point * zoom
        self.zoom_changed.emit(zoom)
        self.update()

    def fit(self) -> None:
        """Zoom to show the whole document; it keeps fitting as the canvas is resized."""
        self._auto_fit = True
        margin = 24
        w = max(1, self.width() - 2 * margin)
        h = max(1, self.height() - 2 * margin)
        zoom = min(w / self.document.width, h / self.document.height)
        self.zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        self._center()

    def actual_size(self) -> None:
        self._auto_fit = False
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

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._auto_fit and self._fitted_once:
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
        if event.button() == Qt.MouseButton.LeftButton and self.tool is not None:
            self._tool_down = True
            self.tool.press(self.to_document(event.position()), 1.0, event.modifiers())
            self.update()
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            self._auto_fit = False
            self.offset += event.position() - self._pan_from
            self._pan_from = event.position()
            self.update()
            event.accept()
            return
        before, self._hover = self._hover, QPointF(event.position())
        if self._tool_down and self.tool is not None:
            self.tool.move(self.to_document(event.position()), 1.0)
            event.accept()
        if self.tool is not None and self.tool.overlay() is None:
            # only the brush circle moved: repaint where it was and where it is (the painted
            # pixels repaint through refresh_region), not the whole canvas at every event
            self._update_outline(before)
            self._update_outline(self._hover)
        else:
            self.update()
        super().mouseMoveEvent(event)

    def _update_outline(self, pos: QPointF | None) -> None:
        if pos is None or self.tool is None or not self.tool.outline:
            return
        if self.tool.settings is None:
            self.update()
            return
        r = max(1.0, self.tool.settings.size * self.zoom / 2) + 4  # + the 3 px dark ring
        self.update(QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r).toAlignedRect())

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.setCursor(Qt.CursorShape.OpenHandCursor if self._space else self._idle_cursor())
            event.accept()
            return
        if self._tool_down and event.button() == Qt.MouseButton.LeftButton:
            self._tool_down = False
            if self.tool is not None:
                self.tool.release(self.to_document(event.position()))
            self.update()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def tabletEvent(self, event) -> None:
        """Pen input: pressure 0..1 goes to the tool (size and/or opacity, per settings)."""
        if self.tool is None or self._space:
            event.ignore()  # Qt then synthesises mouse events (pan etc.)
            return
        pos, pressure = self.to_document(event.position()), float(event.pressure())
        kind = event.type()
        if kind == QEvent.Type.TabletPress and event.button() == Qt.MouseButton.LeftButton:
            self._tool_down = True
            self.tool.press(pos, pressure, event.modifiers())
        elif kind == QEvent.Type.TabletMove:
            self._hover = QPointF(event.position())
            if self._tool_down:
                self.tool.move(pos, pressure)
        elif kind == QEvent.Type.TabletRelease and self._tool_down:
            self._tool_down = False
            self.tool.release(pos)
        else:
            event.ignore()
            return
        self.update()
        event.accept()

    def leaveEvent(self, event) -> None:
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.files_dropped.emit(paths)
            event.acceptProposedAction()

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
            self.setCursor(self._idle_cursor())
            event.accept()
            return
        super().keyReleaseEvent(event)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window().color().darker(115))
        target = self.doc_rect()
        painter.fillRect(target, self._checker)
        smooth = self.zoom * self.devicePixelRatioF() < 1.0  # device pixels per image pixel
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.drawImage(target, self._image)
        if self._preview is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            w, h = self._preview_size
            painter.drawImage(
                QRectF(target.x(), target.y(), w * self.zoom, h * self.zoom), self._preview
            )
        if self._selection_image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            painter.drawImage(target, self._selection_image)
        self._draw_tool(painter)
        if self._placeholder:
            self._draw_placeholder(painter)
        painter.end()

    def _draw_tool(self, painter: QPainter) -> None:
        if self.tool is None:
            return
        shape = self.tool.overlay()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if shape is not None:
            painter.save()
            painter.translate(self.offset)
            painter.scale(self.zoom, self.zoom)
            for colour, dash in ((QColor(255, 255, 255), False), (QColor(0, 0, 0), True)):
                pen = QPen(colour, 0)
                if dash:
                    pen.setStyle(Qt.PenStyle.DashLine)
                painter.setPen(pen)
                painter.drawPath(shape)
            painter.restore()
        if self.tool.outline and self._hover is not None and self.tool.settings is not None:
            radius = max(1.0, self.tool.settings.size * self.zoom / 2)
            for colour, width in ((QColor(0, 0, 0, 160), 3), (QColor(255, 255, 255), 1)):
                painter.setPen(QPen(colour, width))
                painter.drawEllipse(self._hover, radius, radius)

    def _draw_placeholder(self, painter: QPainter) -> None:
        """A readable card near the top, so it never hides what is being painted."""
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        painter.setFont(font)
        flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
        area = self.rect().adjusted(40, 16, -40, -16)
        text = painter.boundingRect(area, flags, self._placeholder).adjusted(-14, -10, 14, 10)
        text.moveTop(16)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 255, 255, 225))
        painter.drawRoundedRect(text, 8, 8)
        painter.setPen(QColor(40, 40, 40))
        painter.drawText(text, flags, self._placeholder)
