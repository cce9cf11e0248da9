"""End to end: in the real app under Xvfb, paint a mask with the mouse and inpaint under it."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PIL import Image

from tests.e2e.test_label_painting import IMAGE_RGB, _near
from tests.e2e.test_real_window import (
    artifacts_dir,
    drag,
    open_image,
    require_x_tools,
    running_studio,
    wait_for,
    write_settings,
    xdotool,
)
from tests.xvfb import Xvfb, grab_screen_png

pytestmark = pytest.mark.e2e
TINT = np.array((255, 40, 80)) * 0.5 + np.array(IMAGE_RGB) * 0.5  # a mask over the image


def test_paint_a_mask_and_inpaint_under_it(tiny_sd_path, tmp_path):
    require_x_tools()
    home = tmp_path / "home"
    write_settings(home)
    from PySide6.QtCore import QSettings

    s = QSettings(str(home / "settings.ini"), QSettings.Format.IniFormat)
    s.setValue("prompt/mode", "inpaint")  # the Inpaint tab of the Generate dock
    s.sync()
    out = artifacts_dir(tmp_path)
    image_path = tmp_path / "wall.png"
    img = np.zeros((256, 384, 3), np.uint8)
    img[:] = IMAGE_RGB
    Image.fromarray(img).save(image_path)
    log = home / "logs" / "studio.log"
    with Xvfb() as xv:
        env = xv.env(os.environ)
        env.update(
            STUDIO_HOME=str(home), STUDIO_MODELS_PATH=str(tiny_sd_path.parent), HF_HUB_OFFLINE="1"
        )
        with running_studio(env, log, out / "inpaint-app-output.txt") as (proc, window):
            open_image(env, window, image_path)
            before = out / "inpaint-before.png"
            grab_screen_png(xv.display, before)
            a = np.asarray(Image.open(before).convert("RGB"), np.int16)
            ys, xs = np.nonzero(_near(a, IMAGE_RGB))
            assert len(xs) > 1000, "the opened image is not on screen"
            cx, cy = int(np.median(xs)), int(np.median(ys))
            xdotool(env, "windowfocus", "--sync", window)
            xdotool(env, "key", "--clearmodifiers", "ctrl+shift+m")  # new mask layer
            time.sleep(0.5)
            drag(env, [(cx + dx, cy) for dx in range(-40, 41, 8)])
            time.sleep(0.8)
            masked = out / "inpaint-masked.png"
            grab_screen_png(xv.display, masked)
            xdotool(env, "key", "--clearmodifiers", "ctrl+Return")
            wait_for(lambda: "job 1 finished" in log.read_text(), 180, "the inpaint", proc)
            time.sleep(1.0)
            after = out / "inpaint-after.png"
            grab_screen_png(xv.display, after)
            xdotool(env, "key", "--clearmodifiers", "ctrl+q")
            proc.wait(20)
    m = np.asarray(Image.open(masked).convert("RGB"), np.int16)
    b = np.asarray(Image.open(after).convert("RGB"), np.int16)
    stroke = _near(m, TINT.round().astype(int), tol=10)
    assert stroke.sum() > 300, f"only {stroke.sum()} screen pixels show the painted mask"
    repainted = ~_near(b, IMAGE_RGB, tol=12) & stroke
    assert repainted.mean() > 0 and repainted.sum() > 0.5 * stroke.sum(), "not repainted"
    assert not _near(b, TINT.round().astype(int), tol=10)[stroke].mean() > 0.2  # mask hidden
    far = _near(a, IMAGE_RGB)
    far[max(0, cy - 90) : cy + 90, max(0, cx - 110) : cx + 110] = False
    assert _near(b, IMAGE_RGB)[far].mean() > 0.99  # away from the mask nothing changed
    text = log.read_text()
    assert "Traceback" not in text, text
    assert "job 1 started: Inpaint" in text
