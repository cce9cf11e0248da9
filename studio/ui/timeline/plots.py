"""Widgets of the Timeline dock drawn with QPainter: step plots, the step image, the filmstrip."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QSizePolicy, QWidget

from studio.ui.canvas.qimage import qimage_from_array

MARGIN = 6
POINT_RADIUS = 3.0


class StepPlot(QWidget):
    """A line of one value per step; the current step is marked; a click picks a step."""

    step_clicked = Signal(int)  # 0-based step index

    def __init__(self, title: str, log_scale: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.log_scale = log_scale
        self.values: list[float] = []
        self.slots = 0  # steps the x axis spans: the planned count while a run is still going
        self.current = -1
        self.setMinimumSize(160, 60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip(f"{title}; click a point to jump to that step")

    def set_values(self, values: list[float], planned: int = 0) -> None:
        """One value per recorded step; `planned` steps of room on the x axis (a running run)."""
        self.values = [float(v) for v in values]
        self.slots = max(len(self.values), planned)
        self.update()

    def set_current(self, index: int) -> None:
        self.current = index
        self.update()

    def _scaled(self) -> list[float]:
        if not self.log_scale:
            return self.values
        return [math.log10(max(v, 1e-4)) if math.isfinite(v) else 0.0 for v in self.values]

    def _area(self) -> QRectF:
        return QRectF(self.rect()).adjusted(MARGIN, MARGIN + 14, -MARGIN, -MARGIN)

    def point(self, index: int) -> QPointF:
        """Where step `index` is drawn (widget coordinates)."""
        values = self._scaled()
        area = self._area()
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        x = area.left() + area.width() * (index / max(1, self.slots - 1))
        y = area.bottom() - area.height() * ((values[index] - low) / span)
        return QPointF(x, y)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        painter.fillRect(self.rect(), palette.base())
        painter.setPen(palette.text().color())
        painter.drawText(MARGIN, MARGIN + 10, self._label())
        if not self.values:
            return
        accent = palette.highlight().color()
        path = QPainterPath(self.point(0))
        for i in range(1, len(self.values)):
            path.lineTo(self.point(i))
        painter.setPen(QPen(accent, 1.5))
        painter.drawPath(path)
        painter.setBrush(accent)
        for i in range(len(self.values)):
            painter.drawEllipse(self.point(i), POINT_RADIUS, POINT_RADIUS)
        if 0 <= self.current < len(self.values):
            here = self.point(self.current)
            painter.setPen(QPen(QColor(220, 60, 40), 1.0, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(here.x(), self._area().top()), here)
            painter.setBrush(QColor(220, 60, 40))
            painter.drawEllipse(here, POINT_RADIUS + 2, POINT_RADIUS + 2)

    def _label(self) -> str:
        if 0 <= self.current < len(self.values):
            return f"{self.title}: {self.values[self.current]:.4g}"
        return self.title

    def index_at(self, x: float) -> int:
        """The step nearest to x."""
        if not self.values:
            return -1
        area = self._area()
        fraction = (x - area.left()) / max(1.0, area.width())
        return int(np.clip(round(fraction * (self.slots - 1)), 0, len(self.values) - 1))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.index_at(event.position().x())
        if index >= 0:
            self.step_clicked.emit(index)


class StepImage(QWidget):
    """The chosen step's picture, scaled to fit (nearest-neighbour when enlarged a lot)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pixmap: QPixmap | None = None
        self.caption = "No run recorded yet: generate something."
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def show_image(self, image: np.ndarray | None, caption: str = "") -> None:
        self.pixmap = None if image is None else QPixmap.fromImage(qimage_from_array(image))
        self.caption = caption
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(240, 240)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        if self.pixmap is None:
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap  # fits narrow docks
            painter.drawText(self.rect().adjusted(6, 6, -6, -6), flags, self.caption)
            return
        size = self.pixmap.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRectF(0, 0, size.width(), size.height())
        target.moveCenter(QRectF(self.rect()).center())
        smooth = size.width() < 4 * self.pixmap.width()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.drawPixmap(target, self.pixmap, QRectF(self.pixmap.rect()))


class Filmstrip(QListWidget):
    """One thumbnail per recorded step in a row; the selection follows the scrubber."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setWrapping(False)
        self.setIconSize(QSize(48, 48))
        self.setFixedHeight(86)
        self.setMovement(QListWidget.Movement.Static)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setToolTip("Every recorded step; click one to show it")

    def set_thumbnails(self, thumbs: list[np.ndarray]) -> None:
        """Show `thumbs`; the items already shown are kept (a growing run only adds)."""
        if len(thumbs) < self.count():
            self.clear()
        for step, thumb in enumerate(thumbs[self.count() :], self.count() + 1):
            icon = QPixmap.fromImage(qimage_from_array(_enlarged(thumb)))
            item = QListWidgetItem(icon, str(step))
            item.setSizeHint(QSize(56, 70))
            self.addItem(item)


def _enlarged(thumb: np.ndarray) -> np.ndarray:
    """Thumbnails enlarged to about 48 px by whole pixels (crisp latent grid)."""
    factor = max(1, 48 // max(thumb.shape[:2]))
    return np.repeat(np.repeat(thumb, factor, axis=0), factor, axis=1)
