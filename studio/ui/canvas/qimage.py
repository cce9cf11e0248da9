"""The one place numpy pixels become QImages for display (and back, for screenshots/tests)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def qimage_from_array(pixels: np.ndarray) -> QImage:
    """HxWx3 or HxWx4 uint8 -> QImage that owns a copy of the pixels."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape[:2]
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        fmt, bpl = QImage.Format.Format_RGBA8888, 4 * w
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        fmt, bpl = QImage.Format.Format_RGB888, 3 * w
    else:
        raise ValueError(f"expected HxWx3 or HxWx4 uint8, got {pixels.shape}")
    return QImage(pixels.data, w, h, bpl, fmt).copy()


def array_from_qimage(image: QImage) -> np.ndarray:
    """QImage -> HxWx4 uint8 (RGBA)."""
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = image.height(), image.width()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return data.reshape(h, image.bytesPerLine())[:, : 4 * w].reshape(h, w, 4).copy()
