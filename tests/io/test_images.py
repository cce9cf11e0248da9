"""Image import normalises modes/formats/orientation and refuses hostile files clearly."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from studio.io import images
from studio.io.images import ImageImportError, load_image


def _grad(w=8, h=6):
    x = np.arange(w * h * 3, dtype=np.uint8).reshape(h, w, 3)
    return x


@pytest.mark.parametrize("fmt,ext", [("PNG", "png"), ("BMP", "bmp"), ("TIFF", "tif")])
def test_lossless_formats_round_trip_rgb(tmp_path, fmt, ext):
    rgb = _grad()
    Image.fromarray(rgb, "RGB").save(tmp_path / f"a.{ext}", format=fmt)
    out = load_image(tmp_path / f"a.{ext}")
    assert out.shape == (6, 8, 4) and out.dtype == np.uint8
    assert np.array_equal(out[:, :, :3], rgb) and (out[:, :, 3] == 255).all()


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_lossy_formats_open(tmp_path, fmt):
    Image.new("RGB", (16, 8), (200, 30, 30)).save(tmp_path / "a.img", format=fmt, quality=95)
    out = load_image(tmp_path / "a.img")
    assert out.shape == (8, 16, 4)
    assert abs(int(out[4, 8, 0]) - 200) < 8 and out[4, 8, 3] == 255


def test_modes_are_normalised(tmp_path):
    Image.new("LA", (4, 4), (100, 50)).save(tmp_path / "la.png")
    assert tuple(load_image(tmp_path / "la.png")[0, 0]) == (100, 100, 100, 50)
    Image.new("L", (4, 4), 7).save(tmp_path / "l.png")
    assert tuple(load_image(tmp_path / "l.png")[0, 0]) == (7, 7, 7, 255)
    p = Image.new("P", (4, 4), 1)
    p.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    p.save(tmp_path / "p.png")
    assert tuple(load_image(tmp_path / "p.png")[0, 0]) == (10, 20, 30, 255)
    wide = Image.fromarray(np.full((4, 4), 65535, np.uint16))
    wide.save(tmp_path / "i16.png")
    assert tuple(load_image(tmp_path / "i16.png")[0, 0]) == (255, 255, 255, 255)
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=100)
    red = load_image(tmp_path / "c.jpg")[0, 0]
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    Image.new("RGBA", (4, 4), (1, 2, 3, 4)).save(tmp_path / "rgba.webp", lossless=True)
    assert tuple(load_image(tmp_path / "rgba.webp")[0, 0]) == (1, 2, 3, 4)


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (20, 10), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 5, 10))  # red strip on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    img.save(tmp_path / "o.jpg", exif=exif, quality=100)
    out = load_image(tmp_path / "o.jpg")
    assert out.shape[:2] == (20, 10)  # now portrait
    assert out[1, 5, 0] > 200 and out[18, 5, 2] > 200  # red on top after rotation


def test_truncated_file_gives_a_clear_error(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(
        tmp_path / "t.png"
    )
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageImportError, match="damaged or incomplete"):
        load_image(tmp_path / "t.png")


def test_not_an_image_and_unsupported_format(tmp_path):
    (tmp_path / "x.png").write_bytes(b"hello, not a png")
    with pytest.raises(ImageImportError, match="not an image"):
        load_image(tmp_path / "x.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "x.gif")
    with pytest.raises(ImageImportError, match="GIF"):
        load_image(tmp_path / "x.gif")


def test_absurd_sizes_and_decompression_bombs_are_refused(tmp_path, monkeypatch):
    # A real 20000x1 PNG is tiny on disk but over the side limit: refused before decoding.
    Image.new("L", (20000, 1)).save(tmp_path / "wide.png")
    with pytest.raises(ImageImportError, match="too large"):
        load_image(tmp_path / "wide.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 100)
    Image.new("L", (11, 10)).save(tmp_path / "many.png")
    with pytest.raises(ImageImportError, match="too large"):
        load_image(tmp_path / "many.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)  # Pillow's own bomb guard
    Image.new("L", (9, 9)).save(tmp_path / "bomb.png")
    with pytest.raises(ImageImportError, match="too large"):
        load_image(tmp_path / "bomb.png")
