"""Label maps as files: indexed PNG with the palette embedded, and colour-coded PNG import."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from studio.io.atomic import write_atomic
from studio.io.images import ImageImportError, _to_rgba, open_checked

MAX_INDEXED = 255  # the largest value an 8-bit indexed PNG can hold
PALETTE_KEY = "studio-palette"


def indexed_png_bytes(ids: np.ndarray, colors: np.ndarray, names: str | None = None) -> bytes:
    """HxW uint16 ids (all <= 255) + Nx3 uint8 colours -> indexed PNG bytes (PLTE = colours)."""
    if ids.ndim != 2:
        raise ValueError(f"expected HxW ids, got {ids.shape}")
    top = int(ids.max()) if ids.size else 0
    if top > MAX_INDEXED:
        raise ImageImportError(
            f"This label map uses class {top}; an indexed PNG holds classes 0 to {MAX_INDEXED}."
        )
    image = Image.fromarray(ids.astype(np.uint8))  # L; putpalette below makes it P
    table = np.zeros((256, 3), np.uint8)
    n = min(256, len(colors))
    table[:n] = colors[:n]
    image.putpalette(table.reshape(-1).tolist())
    info = PngImagePlugin.PngInfo()
    if names:
        info.add_itxt(PALETTE_KEY, names)  # the palette as JSON: value -> class name
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, pnginfo=info)
    return buffer.getvalue()


def save_indexed_png(
    path: Path, ids: np.ndarray, colors: np.ndarray, names: str | None = None
) -> None:
    data = indexed_png_bytes(ids, colors, names)
    write_atomic(Path(path), lambda handle: handle.write(data))


def read_label_png(path: Path) -> tuple[np.ndarray | None, np.ndarray]:
    """(ids, rgb): ids HxW uint16 when the file is an indexed PNG (exact values), else None.

    `rgb` (HxWx3 uint8) is always returned, so colour-coded maps can be matched to a palette.
    """
    name = Path(path).name
    with open_checked(path) as image:
        try:
            image.load()
            ids = np.array(image, np.uint16) if image.mode == "P" else None
            rgb = _to_rgba(image)[:, :, :3].copy()
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageImportError(f"{name} is damaged or incomplete.", str(exc)) from exc
    return ids, rgb
