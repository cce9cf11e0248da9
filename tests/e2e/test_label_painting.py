"""End to end: open an image in the real app under Xvfb, paint a label layer, screenshot it."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PIL import Image

from tests.e2e.test_real_window import (
    artifacts_dir,
    drag,
    open_image,
    require_x_tools,
    running_studio,
    write_settings,
    xdotool,
)
from tests.xvfb import Xvfb, grab_screen_png

pytestmark = pytest.mark.e2e

IMAGE_RGB = (200, 120, 40)
SKY = (6, 230, 230)  # Landscape 'sky' = ADE20K sky colour
OVERLAY = 0.6  # new label layers show at 60 %


def _near(pixels: np.ndarray, rgb, tol: int = 8) -> np.ndarray:
    return (np.abs(pixels - np.array(rgb, np.int16)) <= tol).all(axis=2)


def test_paint_a_label_layer_over_an_image(tmp_path):
    require_x_tools()
    home = tmp_path / "home"
    write_settings(home)
    out = artifacts_dir(tmp_path)
    image_path = tmp_path / "field.png"
    img = np.zeros((256, 384, 3), np.uint8)
    img[:] = IMAGE_RGB
    img[:, ::32] = (40, 40, 40)  # some structure so the image is visibly an image
    Image.fromarray(img).save(image_path)
    log = home / "logs" / "studio.log"
    with Xvfb() as xv:
        env = xv.env(os.environ)
        env.update(STUDIO_HOME=str(home), STUDIO_MODELS_PATH="", HF_HUB_OFFLINE="1")
        with running_studio(env, log, out / "labels-app-output.txt") as (proc, window):
            open_image(env, window, image_path)
            before = out / "labels-before.png"
            grab_screen_png(xv.display, before)
            xdotool(env, "windowfocus", "--sync", window)
            xdotool(env, "key", "--clearmodifiers", "ctrl+shift+l")  # new label layer
            time.sleep(0.5)
            a = np.asarray(Image.open(before).convert("RGB"), np.int16)
            ys, xs = np.nonzero(_near(a, IMAGE_RGB))
            assert len(xs) > 1000, "the opened image is not on screen"
            cx, cy = int(np.median(xs)), int(np.median(ys))
            drag(env, [(cx - 60, cy)] + [(cx + dx, cy + dx // 4) for dx in range(-50, 61, 10)])
            time.sleep(1.0)
            after = out / "labels-after.png"
            grab_screen_png(xv.display, after)
            xdotool(env, "key", "--clearmodifiers", "ctrl+q")
            proc.wait(20)
    b = np.asarray(Image.open(after).convert("RGB"), np.int16)
    blend = OVERLAY * np.array(SKY) + (1 - OVERLAY) * np.array(IMAGE_RGB)
    painted = _near(b, blend.round().astype(int), tol=6)
    assert painted.sum() > 300, f"only {painted.sum()} screen pixels show the sky overlay"
    assert not _near(a, blend.round().astype(int), tol=6).any()
    assert _near(b, IMAGE_RGB).sum() > 1000  # the image is still visible around the stroke
    assert "Traceback" not in log.read_text()
