"""Large images through a fully convolutional net in overlapping tiles, feather-blended (numpy)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from studio.errors import Cancelled


def pad_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """Reflect-pad HxWxC at the bottom/right to multiples of `multiple` (edge-pad if tiny)."""
    h, w = image.shape[:2]
    ph, pw = -h % multiple, -w % multiple
    if not ph and not pw:
        return image
    mode = "reflect" if ph < h and pw < w else "edge"
    return np.pad(image, ((0, ph), (0, pw), (0, 0)), mode=mode)


def starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile origins covering [0, length) with at least `overlap` shared pixels between tiles."""
    if length <= tile:
        return [0]
    step = tile - overlap
    out = list(range(0, length - tile, step))
    out.append(length - tile)
    return out


def ramp(tile: int, overlap: int) -> np.ndarray:
    """1-D blending weight: rises over `overlap` pixels at both ends, never zero."""
    i = np.arange(tile, dtype=np.float64)
    edge = np.minimum(i + 0.5, tile - i - 0.5) / max(overlap, 1)
    return np.clip(edge, 1e-3, 1.0)


def run_tiled(
    image: np.ndarray,
    fn: Callable[[np.ndarray], np.ndarray],
    tile: int,
    overlap: int,
    multiple: int,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """fn maps HxWxC float32 (sides multiples of `multiple`) to HxWxC' float32 of the same size.

    Images no larger than a tile run in one piece; larger ones run in tiles of `tile` pixels
    overlapping by `overlap`, and each output pixel is the weighted mean of the tiles covering it.
    """
    h, w = image.shape[:2]
    padded = pad_to_multiple(image, multiple)
    ph, pw = padded.shape[:2]
    if tile <= 0 or (ph <= tile and pw <= tile):
        return fn(padded)[:h, :w]
    tile = max(multiple, tile // multiple * multiple)
    th, tw = min(tile, ph), min(tile, pw)
    acc = None
    weight = np.zeros((ph, pw, 1), dtype=np.float64)
    window = (ramp(th, overlap)[:, None] * ramp(tw, overlap)[None, :])[:, :, None]
    for y in starts(ph, th, overlap):
        for x in starts(pw, tw, overlap):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            out = fn(padded[y : y + th, x : x + tw])
            if acc is None:
                acc = np.zeros((ph, pw, out.shape[2]), dtype=np.float64)
            acc[y : y + th, x : x + tw] += out * window
            weight[y : y + th, x : x + tw] += window
    return (acc / weight).astype(np.float32)[:h, :w]
