"""The checked loaders for masks and label maps: same limits and EXIF orientation as images,
16-bit grey scaled for masks and kept exact for label ids."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from studio.io.images import ImageImportError, load_image, load_mask, load_rgb
from studio.io.labels import load_label_ids, read_label_png


def _with_orientation(image: Image.Image, path, orientation: int = 6) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation  # 6: the camera was turned; show it rotated 90° clockwise
    image.save(path, exif=exif)


def test_mask_and_labels_turn_with_the_image(tmp_path):
    """One EXIF orientation, three files: all come out upright and aligned."""
    mark = np.zeros((4, 6), np.uint8)
    mark[0, 0] = 255  # top-left corner marked
    _with_orientation(Image.fromarray(mark).convert("RGB"), tmp_path / "image.png")
    _with_orientation(Image.fromarray(mark), tmp_path / "mask.png")
    labels = Image.fromarray((mark // 255 * 3).astype(np.uint8), "P")
    labels.putpalette([0, 0, 0] * 3 + [9, 9, 9])
    _with_orientation(labels, tmp_path / "labels.png")
    image = load_rgb(tmp_path / "image.png")
    mask = load_mask(tmp_path / "mask.png")
    found = load_label_ids(tmp_path / "labels.png")
    assert image.shape == (6, 4, 3) and mask.shape == (6, 4) and found.ids.shape == (6, 4)
    expected = np.argwhere(image[:, :, 0] == 255).tolist()
    assert expected == [[0, 3]]  # the corner went to the top right
    assert np.argwhere(mask == 255).tolist() == expected
    assert np.argwhere(found.ids == 3).tolist() == expected
    assert read_label_png(tmp_path / "labels.png")[0].shape == (6, 4)


def test_16_bit_grey_mask_is_scaled_not_white(tmp_path):
    ramp = np.array([[0, 257 * 64, 257 * 128, 65535]], np.uint16)
    Image.fromarray(ramp).save(tmp_path / "mask16.png")  # mode I;16
    assert load_mask(tmp_path / "mask16.png").tolist() == [[0, 64, 128, 255]]


def test_transparent_mask_pixels_are_not_masked(tmp_path):
    rgba = np.full((1, 2, 4), 255, np.uint8)
    rgba[0, 1, 3] = 0  # white but fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "mask.png")
    assert load_mask(tmp_path / "mask.png").tolist() == [[255, 0]]


def test_16_bit_label_ids_stay_exact(tmp_path):
    ids = np.array([[0, 1, 300, 65535]], np.uint16)
    Image.fromarray(ids).save(tmp_path / "ids.png")
    found = load_label_ids(tmp_path / "ids.png")
    assert found.ids.dtype == np.uint16 and found.ids.tolist() == ids.tolist()
    assert found.palette is None


def _png_header_only(path, width: int, height: int) -> None:
    """A PNG that claims a size (IHDR) and holds no pixels: enough to test refusing by size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"")
    chunks = chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks)


@pytest.mark.parametrize("loader", [load_image, load_rgb, load_mask, load_label_ids])
@pytest.mark.parametrize("size", [(12000, 12000), (40000, 40000), (16385, 10)])
def test_every_loader_refuses_huge_pictures_before_decoding(tmp_path, loader, size):
    _png_header_only(tmp_path / "big.png", *size)
    with pytest.raises(ImageImportError, match="too large"):
        loader(tmp_path / "big.png")


@pytest.mark.parametrize("loader", [load_image, load_rgb, load_mask, load_label_ids])
def test_every_loader_refuses_damage_and_folders(tmp_path, loader):
    Image.new("RGB", (64, 64), "red").save(tmp_path / "ok.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "ok.png").read_bytes()[:60])
    for path in (tmp_path / "cut.png", tmp_path, tmp_path / "missing.png"):
        with pytest.raises(ImageImportError):
            loader(path)
