"""The Timeline dock photographed on a real X screen (Xvfb) after a real tiny-model run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.e2e.test_real_window import artifacts_dir, require_x_tools
from tests.xvfb import Xvfb, grab_screen_png

pytestmark = pytest.mark.e2e


def run_child(env: dict, model, out) -> tuple[subprocess.Popen, list[int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.timeline_child", str(model), str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in proc.stdout:
        if line.startswith("READY"):
            return proc, json.loads(line.split(" ", 1)[1])
    proc.wait(5)
    raise AssertionError(f"the timeline child exited with code {proc.returncode}")


def test_timeline_dock_screenshot(tiny_sd_path, tmp_path):
    require_x_tools()
    out = artifacts_dir(tmp_path)
    with Xvfb("1600x1200x24") as xv:  # the right-hand docks alone need ~1000 px
        env = xv.env(os.environ)
        env.update(STUDIO_HOME=str(tmp_path / "home"), HF_HUB_OFFLINE="1")
        proc, (x, y, w, h) = run_child(env, tiny_sd_path, tmp_path / "child")
        try:
            shot = grab_screen_png(xv.display, out / "timeline-screen.png")
        finally:
            proc.kill()
            proc.wait(5)
    with Image.open(shot) as image:
        dock = image.convert("RGB").crop((x, y, x + w, y + h))
    dock.save(out / "timeline-dock.png")
    pixels = np.asarray(dock, dtype=np.int16)
    assert w > 600 and h > 250, (w, h)
    assert pixels.std() > 20, "the Timeline dock is blank"
    # the filmstrip row (bottom) holds 12 distinct thumbnails: many distinct colours there
    strip = pixels[-80:].reshape(-1, 3)
    assert len(np.unique(strip, axis=0)) > 200
