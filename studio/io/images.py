"""Image import: any common file becomes HxWx4 uint8 RGBA, upright; hostile files are refused."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from studio.errors import StudioError

FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP")
MAX_SIDE = 16384  # pixels per side
MAX_PIXELS = 80_000_000  # ~ 9000 x 9000; beyond this a layer alone needs > 300 MB


# What Pillow raises on damaged or hostile files (found by feeding it truncated/mutated files).
PIL_ERRORS = (
    OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, TypeError, KeyError,
    ZeroDivisionError, Image.DecompressionBombError,
)  # fmt: skip


class ImageImportError(StudioError):
    """An image file could not be imported (unsupported, too large, truncated or damaged)."""


def check_size(width: int, height: int, name: str) -> None:
    if width <= 0 or height <= 0:
        raise ImageImportError(f"{name} has no pixels ({width}×{height}).")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageImportError(
            f"{name} is too large to open ({width}×{height} pixels).",
            f"limits: {MAX_SIDE} pixels per side and {MAX_PIXELS} pixels in total",
        )


def _to_rgba(image: Image.Image) -> np.ndarray:
    """Normalise every Pillow mode Studio may meet to HxWx4 uint8 (straight alpha)."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        wide = np.asarray(image).astype(np.int64)
        # 16-bit data fills 0..65535; plain "I" from 16-bit PNGs does too
        grey = np.clip(np.round(wide / 257.0), 0, 255).astype(np.uint8)
        image = Image.fromarray(grey, "L")
    elif mode == "F":
        data = np.nan_to_num(np.asarray(image, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if float(data.max(initial=0.0)) <= 1.0 else 1.0
        grey = np.clip(data * scale, 0, 255).round().astype(np.uint8)
        image = Image.fromarray(grey, "L")
    elif mode == "CMYK":
        image = image.convert("RGB")
    elif mode == "P":
        image = image.convert("RGBA")
    if image.mode != "RGBA":
        image = image.convert("RGBA")
    return np.array(image, dtype=np.uint8)


def open_checked(path: Path) -> Image.Image:
    """Open (lazily) after checking format and size; the caller closes the image."""
    path = Path(path)
    name = path.name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
    except FileNotFoundError as exc:
        raise ImageImportError(f"{name} does not exist.", str(path)) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageImportError(f"{name} is too large to open.", str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise ImageImportError(f"{name} is not an image Studio can read.", str(exc)) from exc
    except IsADirectoryError as exc:
        raise ImageImportError(f"{name} is a folder, not an image.", str(path)) from exc
    except PIL_ERRORS as exc:
        detail = f"{type(exc).__name__}: {exc}"
        raise ImageImportError(f"{name} could not be read.", detail) from exc
    if image.format not in FORMATS:
        fmt = image.format
        image.close()
        raise ImageImportError(
            f"{name} is a {fmt} file; Studio opens PNG, JPEG, WebP, TIFF and BMP.", str(path)
        )
    try:
        check_size(image.width, image.height, name)
    except ImageImportError:
        image.close()
        raise
    return image


def _loaded_upright(image: Image.Image, name: str) -> Image.Image:
    """The first frame decoded and turned upright by its EXIF orientation (same for images,
    masks and label maps, so they stay aligned)."""
    try:
        image.load()
        return ImageOps.exif_transpose(image)
    except PIL_ERRORS as exc:  # Pillow's truncated/corrupt errors
        raise ImageImportError(
            f"{name} is damaged or incomplete and cannot be opened.", f"{type(exc).__name__}: {exc}"
        ) from exc


def load_image(path: Path) -> np.ndarray:
    """HxWx4 uint8 RGBA of the first frame, EXIF orientation applied."""
    name = Path(path).name
    with open_checked(path) as image:
        upright = _loaded_upright(image, name)
        try:
            return _to_rgba(upright)
        except PIL_ERRORS as exc:
            raise ImageImportError(f"{name} is damaged and cannot be opened.", str(exc)) from exc


def load_rgb(path: Path) -> np.ndarray:
    """HxWx3 uint8 RGB (alpha dropped), EXIF orientation applied: an init or control image."""
    return np.ascontiguousarray(load_image(path)[:, :, :3])


def load_mask(path: Path) -> np.ndarray:
    """HxW uint8 mask (255 = regenerate): the brightest channel of each pixel, so a mask
    painted in any colour counts; EXIF orientation applied like load_image, 16-bit grey
    scaled to 8 bits, transparent pixels unmasked."""
    rgba = load_image(path).astype(np.uint32)
    strongest = rgba[:, :, :3].max(axis=2)
    return ((strongest * rgba[:, :, 3] + 127) // 255).astype(np.uint8)
