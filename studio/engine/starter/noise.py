"""Cheap value noise (numpy only): random grids upsampled with smooth interpolation, summed
over octaves. Shared by the layout sampler and the synthetic-scene renderer."""

from __future__ import annotations

import numpy as np


def _axis(n: int, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid index (n,) and smoothstep weight (n,) for n samples over `cells` grid cells."""
    pos = (np.arange(n, dtype=np.float32) + 0.5) * (cells / n)
    i0 = np.floor(pos).astype(np.intp)
    f = pos - i0
    return i0, f * f * (3.0 - 2.0 * f)


def upsample(grid: np.ndarray, h: int, w: int) -> np.ndarray:
    """(gh+1, gw+1) grid -> (h, w) float32, separable smooth interpolation."""
    gh, gw = grid.shape[0] - 1, grid.shape[1] - 1
    xi, xf = _axis(w, gw)
    rows = grid[:, xi] * (1.0 - xf) + grid[:, xi + 1] * xf  # (gh+1, w)
    yi, yf = _axis(h, gh)
    yf = yf[:, None]
    return (rows[yi] * (1.0 - yf) + rows[yi + 1] * yf).astype(np.float32)


def value(rng: np.random.Generator, h: int, w: int, cy: int, cx: int) -> np.ndarray:
    """One octave of value noise in [0, 1), with cy x cx cells over the (h, w) picture."""
    cy, cx = max(1, int(cy)), max(1, int(cx))
    return upsample(rng.random((cy + 1, cx + 1), dtype=np.float32), h, w)


def fbm(
    rng: np.random.Generator,
    h: int,
    w: int,
    cells: tuple[float, float] = (4, 4),
    octaves: int = 4,
    gain: float = 0.5,
) -> np.ndarray:
    """Fractal noise (h, w) in about [0, 1]: octaves double the cell count, mean 0.5."""
    cy, cx = cells
    total = np.zeros((h, w), dtype=np.float32)
    amp, norm = 1.0, 0.0
    for _ in range(octaves):
        cyi, cxi = min(int(cy), h), min(int(cx), w)
        total += amp * (value(rng, h, w, cyi, cxi) - 0.5)
        norm += amp
        amp *= gain
        cy, cx = cy * 2, cx * 2
    return 0.5 + total / (norm * 0.6)


def line(rng: np.random.Generator, n: int, cells: float = 4, octaves: int = 4) -> np.ndarray:
    """1-D fractal noise (n,) in about [0, 1] (ridge lines, shore lines, meanders)."""
    return fbm(rng, 1, n, (1, cells), octaves)[0]


def box_blur(a: np.ndarray, r: int) -> np.ndarray:
    """Separable box blur of radius r (edges clamped), via cumulative sums; float32."""
    if r <= 0:
        return a.astype(np.float32)
    a = a.astype(np.float32)
    for axis in (0, 1):
        pad = [(0, 0)] * a.ndim
        pad[axis] = (r + 1, r)
        c = np.cumsum(np.pad(a, pad, mode="edge"), axis=axis, dtype=np.float64)
        n = a.shape[axis]
        hi = np.take(c, np.arange(2 * r + 1, 2 * r + 1 + n), axis=axis)
        lo = np.take(c, np.arange(0, n), axis=axis)
        a = ((hi - lo) / (2 * r + 1)).astype(np.float32)
    return a
