"""The Timeline and Explore docks photographed on a real X screen (Xvfb), real tiny model."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PIL import Image

from tests.e2e.test_real_window import artifacts_dir, require_x_tools
from tests.xvfb import Xvfb, grab_screen_png

pytestmark = pytest.mark.e2e


class Child:
    """The child app; a reader thread collects its output lines so waits can time out."""

    def __init__(self, env: dict, model, out) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.timeline_child", str(model), str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, name="timeline-child-output", daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_line(self, name: str, timeout: float = 240) -> list[int]:
        """The dock box (x, y, width, height) the child prints when `name` is ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1.0)
            except queue.Empty:
                continue
            if line is None:
                break
            if line.startswith(name):
                return json.loads(line.split(" ", 1)[1])
            self.seen.append(line)
        raise AssertionError(
            f"no {name} from the child ({self.proc.poll()}):\n{''.join(self.seen)}"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


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
        child = Child(env, tiny_sd_path, tmp_path / "child")
        try:
            timeline = child.wait_line("TIMELINE")
            shot = grab_screen_png(xv.display, out / "timeline-screen.png")
            explore = child.wait_line("EXPLORE")
            shot2 = grab_screen_png(xv.display, out / "explore-screen.png")
        finally:
            child.stop()
    pixels = crop(shot, timeline, out / "timeline-dock.png")
    assert timeline[2] > 600 and timeline[3] > 250, timeline
    assert pixels.std() > 20, "the Timeline dock is blank"
    # the filmstrip row (bottom) holds 12 distinct thumbnails: many distinct colours there
    strip = pixels[-80:].reshape(-1, 3)
    assert len(np.unique(strip, axis=0)) > 200
    grid = crop(shot2, explore, out / "explore-dock.png")
    assert grid.std() > 20 and len(np.unique(grid.reshape(-1, 3), axis=0)) > 500
