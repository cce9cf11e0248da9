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
    """
    x0, y0, x1, y1 = rect or (0, 0, width, height)
    x1, y1 = min(x1, width), min(y1, height)
    h, w = max(0, y1 - y0), max(0, x1 - x0)
    rgb = np.zeros((h, w, 3), np.float32)  # premultiplied, 0..255
    alpha = np.zeros((h, w, 1), np.float32)  # 0..1
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
