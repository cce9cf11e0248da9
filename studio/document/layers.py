"""Layers: raster pixels as numpy (HxWx4 uint8) plus name, visibility, opacity and recipe."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

_ids = itertools.count(1)


@dataclass
class Layer:
    """One raster layer; `metadata` carries the generation recipe of generated layers."""

    name: str
    pixels: np.ndarray  # HxWx4 uint8, straight (not premultiplied) alpha
    visible: bool = True
    opacity: float = 1.0
    draft: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    id: int = field(default_factory=lambda: next(_ids))

    def __post_init__(self) -> None:
        if self.pixels.ndim != 3 or self.pixels.shape[2] != 4 or self.pixels.dtype != np.uint8:
            raise ValueError(
                f"layer pixels must be HxWx4 uint8, got {self.pixels.shape} {self.pixels.dtype}"
            )

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def rgba_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> HxWx4 uint8, opaque."""
    alpha = np.full(rgb.shape[:2] + (1,), 255, dtype=np.uint8)
    return np.concatenate([rgb.astype(np.uint8, copy=False), alpha], axis=2)


def solid(width: int, height: int, rgba: tuple[int, int, int, int]) -> np.ndarray:
    pixels = np.empty((height, width, 4), dtype=np.uint8)
    pixels[:] = rgba
    return pixels


def composite(layers: list[Layer], width: int, height: int) -> np.ndarray:
    """Alpha-over of the visible layers, bottom first, onto a transparent WxH canvas (HxWx4)."""
    out = np.zeros((height, width, 4), dtype=np.float32)  # premultiplied, 0..1
    for layer in layers:
        if not layer.visible or layer.opacity <= 0:
            continue
        h, w = min(height, layer.height), min(width, layer.width)
        src = layer.pixels[:h, :w].astype(np.float32) / 255.0
        alpha = src[:, :, 3:4] * layer.opacity
        dst = out[:h, :w]
        dst[:, :, :3] = src[:, :, :3] * alpha + dst[:, :, :3] * (1 - alpha)
        dst[:, :, 3:4] = alpha + dst[:, :, 3:4] * (1 - alpha)
    rgb = np.where(out[:, :, 3:4] > 0, out[:, :, :3] / np.maximum(out[:, :, 3:4], 1e-6), 0)
    result = np.concatenate([rgb, out[:, :, 3:4]], axis=2)
    return np.clip(np.round(result * 255), 0, 255).astype(np.uint8)
