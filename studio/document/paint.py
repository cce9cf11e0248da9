"""Pixel operations on layers (no Qt): brush strokes, flood fill, mask and selection maths."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from studio.document.commands import Rect
from studio.document.layers import LABEL, MASK, Layer


@dataclass(frozen=True)
class BrushSettings:
    """Size in document pixels (diameter); hardness, opacity and pressure in 0..1."""

    size: float = 24.0
    hardness: float = 0.8
    opacity: float = 1.0
    pressure_size: bool = True
    pressure_opacity: bool = False


class Stroke:
    """One brush or eraser stroke on one layer, painted live and recorded as one undo step.

    Coverage is kept per stroke (max of the dabs), so overlapping dabs never build up past the
    stroke opacity. Label layers get a hard disc (coverage >= 0.5) and the exact class id.
    """

    def __init__(
        self,
        layer: Layer,
        brush: BrushSettings,
        color: tuple[int, int, int] | int,
        eraser: bool = False,
        limit: np.ndarray | None = None,
    ) -> None:
        self.layer, self.brush, self.color, self.eraser = layer, brush, color, eraser
        h, w = layer.height, layer.width
        self.limit = None  # HxW bool: paint only inside the selection
        if limit is not None:
            self.limit = np.zeros((h, w), bool)
            lh, lw = min(h, limit.shape[0]), min(w, limit.shape[1])
            self.limit[:lh, :lw] = limit[:lh, :lw]
        self.before = layer.pixels.copy()
        self.coverage = np.zeros((h, w), np.float32)  # 0..1 per pixel, this stroke
        self.dirty: Rect | None = None
        self.last: tuple[float, float] | None = None

    # ---- geometry -------------------------------------------------------------------------
    def _dab(self, x: float, y: float, pressure: float) -> Rect | None:
        b = self.brush
        size = b.size * (max(pressure, 0.05) if b.pressure_size else 1.0)
        radius = max(0.5, size / 2)
        hard = self.layer.kind == LABEL
        x0, y0 = max(0, int(math.floor(x - radius))), max(0, int(math.floor(y - radius)))
        x1 = min(self.layer.width, int(math.ceil(x + radius)) + 1)
        y1 = min(self.layer.height, int(math.ceil(y + radius)) + 1)
        if x0 >= x1 or y0 >= y1:
            return None
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        dist = np.hypot(xx + 0.5 - x, yy + 0.5 - y) / radius  # pixel centres, 1 = edge
        if hard:
            cov = (dist <= 1.0).astype(np.float32)
        else:
            inner = min(b.hardness, 0.999)
            cov = np.clip((1.0 - dist) / (1.0 - inner), 0.0, 1.0)
        strength = max(pressure, 0.0) if b.pressure_opacity else 1.0
        if self.limit is not None:
            cov = cov * self.limit[y0:y1, x0:x1]
        region = self.coverage[y0:y1, x0:x1]
        np.maximum(region, cov * strength, out=region)
        return x0, y0, x1, y1

    def _grow(self, rect: Rect) -> None:
        if self.dirty is None:
            self.dirty = rect
        else:
            a = self.dirty
            self.dirty = (
                min(a[0], rect[0]),
                min(a[1], rect[1]),
                max(a[2], rect[2]),
                max(a[3], rect[3]),
            )

    def add_point(self, x: float, y: float, pressure: float = 1.0) -> Rect | None:
        """Stamp dabs from the previous point to (x, y); returns the rectangle repainted."""
        rects = []
        if self.last is None:
            rects.append(self._dab(x, y, pressure))
        else:
            lx, ly = self.last
            spacing = max(1.0, self.brush.size * 0.15)
            n = max(1, int(math.ceil(math.hypot(x - lx, y - ly) / spacing)))
            for i in range(1, n + 1):
                t = i / n
                rects.append(self._dab(lx + (x - lx) * t, ly + (y - ly) * t, pressure))
        self.last = (x, y)
        rects = [r for r in rects if r is not None]
        if not rects:
            return None
        rect = (
            min(r[0] for r in rects),
            min(r[1] for r in rects),
            max(r[2] for r in rects),
            max(r[3] for r in rects),
        )
        self._render(rect)
        self._grow(rect)
        return rect

    # ---- pixels ---------------------------------------------------------------------------
    def _render(self, rect: Rect) -> None:
        x0, y0, x1, y1 = rect
        cov = self.coverage[y0:y1, x0:x1] * self.brush.opacity
        old = self.before[y0:y1, x0:x1]
        out = self.layer.writable_pixels()[y0:y1, x0:x1]
        kind = self.layer.kind
        if kind == LABEL:
            hit = self.coverage[y0:y1, x0:x1] >= 0.5
            out[:] = np.where(hit, 0 if self.eraser else int(self.color), old)
        elif kind == MASK:
            target = 0.0 if self.eraser else 255.0
            value = old + (target - old.astype(np.float32)) * cov
            out[:] = np.clip(np.round(value), 0, 255).astype(np.uint8)
        elif self.eraser:
            alpha = old[:, :, 3].astype(np.float32) * (1.0 - cov)
            out[:] = old
            out[:, :, 3] = np.round(alpha).astype(np.uint8)
        else:
            out[:] = _paint_over(old, self.color, cov)

    def finish(self) -> tuple[Rect, np.ndarray] | None:
        """The changed rectangle and its pixels before the stroke (None if nothing changed)."""
        if self.dirty is None:
            return None
        x0, y0, x1, y1 = self.dirty
        return self.dirty, self.before[y0:y1, x0:x1].copy()


def _paint_over(old: np.ndarray, rgb: tuple[int, int, int], cov: np.ndarray) -> np.ndarray:
    """Straight-alpha 'over' of a flat colour with coverage `cov` (HxW 0..1) onto old RGBA."""
    src_a = cov[:, :, None]
    dst = old.astype(np.float32) / 255.0
    dst_a = dst[:, :, 3:4]
    out_a = src_a + dst_a * (1 - src_a)
    color = np.array(rgb, np.float32) / 255.0
    rgb_out = (color * src_a + dst[:, :, :3] * dst_a * (1 - src_a)) / np.maximum(out_a, 1e-6)
    result = np.concatenate([rgb_out, out_a], axis=2)
    return np.clip(np.round(result * 255), 0, 255).astype(np.uint8)


def flood_region(layer: Layer, x: int, y: int, tolerance: int = 0) -> np.ndarray:
    """HxW bool of the 4-connected region around (x, y): exact id on labels, else tolerance."""
    px = layer.pixels
    seed = px[y, x]
    if layer.kind == LABEL or tolerance <= 0:
        same = np.all(px == seed, axis=2) if px.ndim == 3 else px == seed
    else:
        diff = np.abs(px.astype(np.int16) - seed.astype(np.int16))
        same = (diff.max(axis=2) if px.ndim == 3 else diff) <= tolerance
    regions, _ = ndimage.label(same)
    return regions == regions[y, x]


def fill_pixels(layer: Layer, region: np.ndarray, color) -> np.ndarray:
    """A copy of the layer's pixels with `region` set to `color` (id, mask value or RGB)."""
    out = layer.pixels.copy()
    if layer.kind == LABEL or layer.kind == MASK:
        out[region] = int(color)
    else:
        out[region] = (*color, 255)
    return out


def polygon_mask(points: list[tuple[float, float]], width: int, height: int) -> np.ndarray:
    """HxW bool of a closed polygon (document coordinates), even-odd rule at pixel centres."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (width, height), 0)
    if len(points) >= 3:
        ImageDraw.Draw(image).polygon([(px - 0.5, py - 0.5) for px, py in points], fill=255)
    return np.asarray(image) > 0


def rect_mask(rect: Rect, width: int, height: int) -> np.ndarray:
    x0, y0, x1, y1 = rect
    out = np.zeros((height, width), bool)
    out[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = True
    return out


def _disc(radius: int) -> np.ndarray:
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return xx * xx + yy * yy <= radius * radius


def grow_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
    """HxW uint8: grey dilation by a disc of `pixels` radius."""
    return ndimage.grey_dilation(mask, footprint=_disc(pixels)) if pixels > 0 else mask.copy()


def shrink_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
    return ndimage.grey_erosion(mask, footprint=_disc(pixels)) if pixels > 0 else mask.copy()


def feather_mask(mask: np.ndarray, radius: float) -> np.ndarray:
    """Gaussian blur with sigma = radius / 2 (soft edge about `radius` pixels wide)."""
    if radius <= 0:
        return mask.copy()
    blurred = ndimage.gaussian_filter(mask.astype(np.float32), sigma=radius / 2, mode="nearest")
    return np.clip(np.round(blurred), 0, 255).astype(np.uint8)


def invert_mask(mask: np.ndarray) -> np.ndarray:
    return (255 - mask).astype(np.uint8)
