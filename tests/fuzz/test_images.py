"""Hostile pictures through every checked loader (image, RGB, mask, label ids): damaged,
mutated, truncated, odd modes, huge claimed sizes. Each returns a picture of the promised
shape and type or raises ImageImportError, in bounded time and memory."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from studio.io.images import load_image, load_mask, load_rgb
from studio.io.labels import load_label_ids
from tests.fuzz.conftest import case, snapshot

MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16", "F", "CMYK", "YCbCr"]
FORMATS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp"}
FORMATS["GIF"] = ".gif"  # opened by Pillow, refused by Studio


def _loaders():
    return {
        "image": lambda p: load_image(p).shape[2] == 4,
        "rgb": lambda p: load_rgb(p).shape[2] == 3,
        "mask": lambda p: load_mask(p).ndim == 2,
        "labels": lambda p: load_label_ids(p).rgb.shape[2] == 3,
    }


@st.composite
def encoded_images(draw) -> tuple[bytes, str, str]:
    """A small picture in some mode and format, maybe with EXIF, then maybe damaged."""
    mode = draw(st.sampled_from(MODES))
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    w, h = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    seed = draw(st.integers(0, 2**16))
    pixels = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    try:
        image = Image.fromarray(pixels, "RGB").convert(mode)
        buffer = io.BytesIO()
        exif = Image.Exif()
        exif[0x0112] = draw(st.integers(0, 9))
        extra = {"exif": exif} if fmt in ("PNG", "JPEG", "WEBP", "TIFF") else {}
        image.save(buffer, format=fmt, **extra)
    except (OSError, ValueError, KeyError):
        buffer = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
        fmt = "PNG"
    data = bytearray(buffer.getvalue())
    damage = draw(st.sampled_from(["none", "cut", "flip", "splice"]))
    if damage == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "flip" and data:
        for _ in range(draw(st.integers(1, 8))):
            at = draw(st.integers(0, len(data) - 1))
            data[at] = draw(st.integers(0, 255))
    elif damage == "splice":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=64))
    return bytes(data), FORMATS[fmt], f"{mode} {fmt} {damage}"


@given(encoded=encoded_images())
def test_hostile_pictures_through_every_loader(tmp_path, clean, encoded):
    data, suffix, label = encoded
    path = tmp_path / f"input{suffix}"
    path.write_bytes(data)
    before = snapshot(tmp_path)
    for name, check in _loaders().items():
        outcome = []
        with case("images, masks, labels", f"{name}: {label}", outcome):
            result = []
            outcome.append(
                clean(lambda p, result=result, check=check: result.append(check(p)), path)
            )
            assert result in ([], [True])
    assert snapshot(tmp_path) == before


def _claimed_png(width: int, height: int, depth: int = 8, colour: int = 0) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    idat = zlib.compress(b"\0" * 4096, 9)  # a little data: the header's claim is the test
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@st.composite
def over_limit_sizes(draw) -> tuple[int, int]:
    """Width and height past the limits: a side over 16384, or over 80 megapixels in all."""
    if draw(st.booleans()):
        long, short = draw(st.integers(16385, 2**31 - 1)), draw(st.integers(1, 2**31 - 1))
        return (long, short) if draw(st.booleans()) else (short, long)
    width = draw(st.integers(4883, 16384))
    return width, draw(st.integers(80_000_000 // width + 1, 16384))


@given(size=over_limit_sizes(), depth=st.sampled_from([8, 16]))
def test_claimed_sizes_never_allocate(tmp_path, clean, size, depth):
    """A PNG claiming any size past the limits, up to 2**31 a side (decompression bombs
    included), is refused from its header, never decoded into gigabytes."""
    width, height = size
    path = tmp_path / "claim.png"
    path.write_bytes(_claimed_png(width, height, depth))
    for name, check in _loaders().items():
        with case("images, masks, labels", f"{name}: claims {width}x{height}", outcome := []):
            outcome.append(clean(check, path))
            assert outcome == ["refused"]
