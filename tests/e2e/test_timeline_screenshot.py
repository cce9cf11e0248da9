"""The Timeline and Explore docks photographed on a real X screen (Xvfb), real tiny model."""

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


def start_child(env: dict, model, out) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.timeline_child", str(model), str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_line(proc: subprocess.Popen, name: str) -> list[int]:
    """The dock box (x, y, width, height) the child prints when `name` is ready to shoot."""
    seen = []
    for line in proc.stdout:
        if line.startswith(name):
            return json.loads(line.split(" ", 1)[1])
        seen.append(line)
    proc.wait(5)
    raise AssertionError(f"child exited ({proc.returncode}) before {name}:\n{''.join(seen)}")


def crop(shot, box, path) -> np.ndarray:
    x, y, w, h = box
    with Image.open(shot) as image:
        dock = image.convert("RGB").crop((x, y, x + w, y + h))
    dock.save(path)
    return np.asarray(dock, dtype=np.int16)


def test_timeline_dock_screenshot(tiny_sd_path, tmp_path):
    require_x_tools()
    out = artifacts_dir(tmp_path)
    with Xvfb("1600x1200x24") as xv:  # the right-hand docks alone need ~1000 px
        env = xv.env(os.environ)
        env.update(STUDIO_HOME=str(tmp_path / "home"), HF_HUB_OFFLINE="1")
        proc = start_child(env, tiny_sd_path, tmp_path / "child")
        try:
            timeline = wait_line(proc, "TIMELINE")
            shot = grab_screen_png(xv.display, out / "timeline-screen.png")
            explore = wait_line(proc, "EXPLORE")
            shot2 = grab_screen_png(xv.display, out / "explore-screen.png")
        finally:
            proc.kill()
            proc.wait(5)
    pixels = crop(shot, timeline, out / "timeline-dock.png")
    assert timeline[2] > 600 and timeline[3] > 250, timeline
    assert pixels.std() > 20, "the Timeline dock is blank"
    # the filmstrip row (bottom) holds 12 distinct thumbnails: many distinct colours there
    strip = pixels[-80:].reshape(-1, 3)
    assert len(np.unique(strip, axis=0)) > 200
    grid = crop(shot2, explore, out / "explore-dock.png")
    assert grid.std() > 20 and len(np.unique(grid.reshape(-1, 3), axis=0)) > 500
