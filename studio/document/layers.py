"""Layers: raster (HxWx4 uint8), label (HxW uint16 ids + palette) and mask (HxW uint8) pixels."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from studio.document.palette import Palette

_ids = itertools.count(1)

RASTER, LABEL, MASK = "raster", "label", "mask"
KINDS = (RASTER, LABEL, MASK)
MASK_TINT = (255, 40, 80)  # masks show as this colour over the image
MASK_TINT_ALPHA = 0.5  # at full layer opacity, a fully masked pixel is this opaque


def _check(kind: str, pixels: np.ndarray) -> None:
    if kind == RASTER:
        ok = pixels.ndim == 3 and pixels.shape[2] == 4 and pixels.dtype == np.uint8
        want = "HxWx4 uint8"
    elif kind == LABEL:
        ok, want = pixels.ndim == 2 and pixels.dtype == np.uint16, "HxW uint16"
    elif kind == MASK:
        ok, want = pixels.ndim == 2 and pixels.dtype == np.uint8, "HxW uint8"
    else:
        raise ValueError(f"unknown layer kind {kind!r}; expected one of {KINDS}")
    if not ok:
        raise ValueError(f"{kind} layer pixels must be {want}, got {pixels.shape} {pixels.dtype}")


@dataclass
class Layer:
    """One layer; `metadata` carries the generation recipe of generated layers."""

    name: str
    pixels: np.ndarray  # raster: HxWx4 uint8 straight alpha; label: HxW uint16; mask: HxW uint8
    visible: bool = True
    opacity: float = 1.0
    draft: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    id: int = field(default_factory=lambda: next(_ids))
    kind: str = RASTER
    palette: Palette | None = None  # label layers only
    locked: bool = False
    # generated layers: the arrays the request was built from (picture, mask, labels), so
    # "Re-run exactly" can rebuild it; each is checked against the recipe's hash
    sources: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    # counts in-place edits (writable_pixels), so views can tell a changed layer cheaply
    version: int = field(default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        _check(self.kind, self.pixels)
        if self.kind == LABEL and self.palette is None:
            raise ValueError("a label layer needs the palette its ids refer to")

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    def copy(self, name: str | None = None) -> Layer:
        """A deep copy with a new id (for Duplicate)."""
        return Layer(
            name or f"{self.name} copy",
            self.pixels.copy(),
            self.visible,
            self.opacity,
            self.draft,
            dict(self.metadata),
            kind=self.kind,
            palette=self.palette,
            locked=False,
            sources=dict(self.sources),
        )

    def snapshot(self) -> np.ndarray:
        """The pixels as they are now, frozen (read-only) so a background save can read them.

        Copy-on-write: the next edit of this layer copies the array first (writable_pixels),
        so taking a snapshot costs nothing and the saved pixels never change under the writer.
        """
        self.pixels.flags.writeable = False
        for array in self.sources.values():
            array.flags.writeable = False
        return self.pixels

    def writable_pixels(self) -> np.ndarray:
        """The pixels, ready to be edited in place (a private copy if a snapshot shares them)."""
        if not self.pixels.flags.writeable:
            self.pixels = self.pixels.copy()
        self.version += 1
        return self.pixels

    def rgba(self) -> np.ndarray:
        """HxWx4 uint8 as this layer is displayed (labels through the palette, masks tinted)."""
        return display_rgba(self.kind, self.pixels, self.palette)


def display_rgba(kind: str, pixels: np.ndarray, palette: Palette | None) -> np.ndarray:
    """Pixels of any layer kind (or a crop of them) -> HxWx4 uint8 for display."""
    if kind == RASTER:
        return pixels
    if kind == LABEL:
        return palette.lut()[pixels]
    out = np.empty(pixels.shape + (4,), np.uint8)
    out[:, :, :3] = MASK_TINT
    out[:, :, 3] = np.round(pixels.astype(np.float32) * MASK_TINT_ALPHA)
    return out


def label_layer(name: str, width: int, height: int, palette: Palette) -> Layer:
    """An empty (all 0 = unlabeled) label layer, shown at 60 % over the image."""
    ids = np.zeros((height, width), np.uint16)
    return Layer(name, ids, opacity=0.6, kind=LABEL, palette=palette)


def mask_layer(name: str, width: int, height: int) -> Layer:
    return Layer(name, np.zeros((height, width), np.uint8), kind=MASK)


def blank_like(layer: Layer, width: int, height: int) -> np.ndarray:
    """Zeros of the layer's dtype/channels at a new size."""
    return np.zeros((height, width) + layer.pixels.shape[2:], layer.pixels.dtype)


def rgba_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> HxWx4 uint8, opaque."""
    alpha = np.full(rgb.shape[:2] + (1,), 255, dtype=np.uint8)
    return np.concatenate([rgb.astype(np.uint8, copy=False), alpha], axis=2)


def solid(width: int, height: int, rgba: tuple[int, int, int, int]) -> np.ndarray:
    pixels = np.empty((height, width, 4), dtype=np.uint8)
    pixels[:] = rgba
    return pixels


def _parts(
    layers: list[Layer], rect: tuple[int, int, int, int], labels_alone: bool
) -> list[tuple[Layer, float, np.ndarray]]:
    """(layer, opacity, pixels inside rect) of the layers that draw something there."""
    x0, y0, x1, y1 = rect
    out = []
    for layer in layers:
        if labels_alone and layer.kind != LABEL:
            continue
        opacity = 1.0 if labels_alone else layer.opacity
        if not layer.visible or opacity <= 0:
            continue
        lh, lw = min(y1, layer.height) - y0, min(x1, layer.width) - x0
        if lh <= 0 or lw <= 0:
            continue
        part = layer.pixels[y0 : y0 + lh, x0 : x0 + lw]
        if layer.kind != RASTER and not part.any():
            continue  # empty label/mask area: nothing to draw
        out.append((layer, opacity, part))
    return out


def _opaque_base(parts: list, h: int, w: int) -> int | None:
    """Index of the topmost part that covers everything below it (opaque raster), or None."""
    for i in range(len(parts) - 1, -1, -1):
        layer, opacity, part = parts[i]
        covers = layer.kind == RASTER and opacity >= 1.0 and part.shape[:2] == (h, w)
        if covers and int(part[:, :, 3].min()) == 255:
            return i
    return None


def composite(
    layers: list[Layer],
    width: int,
    height: int,
    labels_alone: bool = False,
    rect: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """Alpha-over of the visible layers, bottom first, onto a transparent canvas (HxWx4 uint8).

    With `labels_alone`, only label layers are drawn (fully opaque), so the map can be checked.
    With `rect` (x0, y0, x1, y1), only that part of the canvas is computed (for live painting).
    Layers under an opaque layer are skipped, and over an opaque base the alpha stays 1, so
    the common picture (a background or a result with layers over it) costs one pass per
    layer above the base.
    """
    x0, y0, x1, y1 = rect or (0, 0, width, height)
    x1, y1 = min(x1, width), min(y1, height)
    h, w = max(0, y1 - y0), max(0, x1 - x0)
    parts = _parts(layers, (x0, y0, x1, y1), labels_alone)
    base = _opaque_base(parts, h, w)
    if base is None:
        return _composite_over_transparent(parts, h, w)
    first = parts[base][2]
    if base == len(parts) - 1:
        return first.copy()  # an opaque layer on top: the picture is that layer
    rgb = first[:, :, :3].astype(np.float32)  # straight = premultiplied, alpha 1 everywhere
    for layer, opacity, part in parts[base + 1 :]:
        lh, lw = part.shape[:2]
        rgba = display_rgba(layer.kind, part, layer.palette)
        a = rgba[:, :, 3:4].astype(np.float32) * (opacity / 255.0)
        under = rgb[:lh, :lw]
        under += (rgba[:, :, :3] - under) * a
    out = np.empty((h, w, 4), np.uint8)
    np.rint(rgb, out=rgb)
    out[:, :, :3] = np.clip(rgb, 0, 255)
    out[:, :, 3] = 255
    return out


def _composite_over_transparent(parts: list, h: int, w: int) -> np.ndarray:
    rgb = np.zeros((h, w, 3), np.float32)  # premultiplied, 0..255
    alpha = np.zeros((h, w, 1), np.float32)  # 0..1
    for layer, opacity, part in parts:
        lh, lw = part.shape[:2]
        rgba = display_rgba(layer.kind, part, layer.palette)
        a = rgba[:, :, 3:4].astype(np.float32) * (opacity / 255.0)
        keep = 1.0 - a
        rgb[:lh, :lw] *= keep
        rgb[:lh, :lw] += rgba[:, :, :3] * a
        alpha[:lh, :lw] *= keep
        alpha[:lh, :lw] += a
    safe = np.maximum(alpha, 1e-6)
    out = np.empty((h, w, 4), np.uint8)
    out[:, :, :3] = np.clip(np.round(np.where(alpha > 0, rgb / safe, 0)), 0, 255)
    out[:, :, 3:4] = np.clip(np.round(alpha * 255), 0, 255)
    return out
