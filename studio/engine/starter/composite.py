"""Paste a repainted picture back through a feathered mask so untouched pixels stay exact."""

from __future__ import annotations

import numpy as np


def feather(mask: np.ndarray, blur: int) -> np.ndarray:
    """HxW uint8 mask (>= 128 = repaint) -> HxW float32 weights 0..1, softened inwards only.

    The blur runs over the grown-then-blurred region but is cut to the mask, so a pixel
    outside the mask always gets weight 0 (it keeps its original value exactly).
    """
    hard = (np.asarray(mask) >= 128).astype(np.float32)
    if blur <= 0 or not hard.any():
        return hard
    from scipy import ndimage

    # distance (px) from each masked pixel to the nearest kept pixel -> ramp of width `blur`
    inside = ndimage.distance_transform_edt(hard > 0)
    return np.clip(inside / float(blur), 0.0, 1.0).astype(np.float32) * hard


def feathered_composite(
    original: np.ndarray, repainted: np.ndarray, mask: np.ndarray, blur: int
) -> np.ndarray:
    """HxWx3 uint8 original and repainted (same size) + HxW mask -> HxWx3 uint8 blend."""
    original = np.asarray(original)
    if original.shape != repainted.shape:
        raise ValueError(f"sizes differ: {original.shape} vs {repainted.shape}")
    weight = feather(mask, blur)[:, :, None]
    out = original.astype(np.float32) * (1 - weight) + repainted.astype(np.float32) * weight
    out = np.where(weight > 0, out, original)
    return np.clip(out.round(), 0, 255).astype(np.uint8)
