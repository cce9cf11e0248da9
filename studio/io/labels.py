"""Label maps as files: indexed PNG with the palette embedded, and colour-coded PNG import."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from studio.io.atomic import write_atomic
from studio.io.images import (
    PIL_ERRORS,
    ImageImportError,
    _loaded_upright,
    _to_rgba,
    open_checked,
)

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


ID_MODES = ("P", "L", "I", "I;16", "I;16B", "I;16L", "I;16N")  # pixel values are class ids


@dataclass(frozen=True)
class LabelImage:
    """A label map file as read: exact ids when the file holds ids, its colours, its palette."""

    ids: np.ndarray | None  # HxW uint16 (indexed or greyscale files), else None
    rgb: np.ndarray  # HxWx3 uint8, what the file looks like
    palette: np.ndarray | None  # Nx3 uint8 PLTE of an indexed file


def load_label_ids(path: Path) -> LabelImage:
    """A label map through the checked loader: size limits, EXIF orientation applied exactly as
    for images and masks, 16-bit ids kept exact (0..65535; others refused)."""
    name = Path(path).name
    with open_checked(path) as image:
        upright = _loaded_upright(image, name)
        try:
            ids = np.array(upright, np.int64) if upright.mode in ID_MODES else None
            palette = upright.getpalette() if upright.mode == "P" else None
            rgb = _to_rgba(upright)[:, :, :3].copy()
        except PIL_ERRORS as exc:
            raise ImageImportError(f"{name} is damaged or incomplete.", str(exc)) from exc
    if ids is not None and ids.size and (ids.min() < 0 or ids.max() > 65535):
        raise ImageImportError(f"{name} holds values outside 0..65535, so they are not class ids.")
    colours = np.array(palette, np.uint8).reshape(-1, 3) if palette else None
    return LabelImage(None if ids is None else ids.astype(np.uint16), rgb, colours)


def read_label_png(path: Path) -> tuple[np.ndarray | None, np.ndarray]:
    """(ids, rgb): ids HxW uint16 when the file is an indexed PNG (exact values), else None.

    `rgb` (HxWx3 uint8) is always returned, so colour-coded maps can be matched to a palette.
    """
    found = load_label_ids(path)
    return (found.ids if found.palette is not None else None), found.rgb
