"""End to end: `python -m studio` in a real X window (Xvfb), driven with real key presses."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.xvfb import Xvfb, grab_screen_png, xvfb_available, xwd_available

pytestmark = pytest.mark.e2e


def require_x_tools() -> None:
    missing = [
        name
        for name, ok in (
            ("Xvfb", xvfb_available()),
            ("xwd", xwd_available()),
            ("xdotool", shutil.which("xdotool") is not None),
        )
        if not ok
    ]
    if not missing:
        return
    message = f"end-to-end tests need {', '.join(missing)} (Debian: xvfb x11-apps xdotool)"
    if os.environ.get("STUDIO_REQUIRE_XVFB"):
        pytest.fail(message)
    pytest.skip(message)


def artifacts_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("STUDIO_ARTIFACTS", tmp_path / "artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_settings(home: Path) -> None:
    from PySide6.QtCore import QSettings

    home.mkdir(parents=True, exist_ok=True)
    s = QSettings(str(home / "settings.ini"), QSettings.Format.IniFormat)
    for key, value in {
        "prompt/prompt": "a lighthouse at dusk",
        "prompt/steps": 4,
        "prompt/width": 128,
        "prompt/height": 128,
        "prompt/random_seed": "false",
        "prompt/seed": 3,
        "engine/device": "cpu",
        "engine/dtype": "float32",
        # The Timeline opens into its full panel when the first run is recorded, and the canvas
        # refits to the space left: start it open so the canvas stays where the test found it.
        "timeline/compact": "false",
    }.items():
        s.setValue(key, value)
    s.sync()


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(
                f"Studio exited with code {proc.returncode} while waiting for {what}"
            )
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def xdotool(env, *args: str) -> str:
    done = subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"xdotool {args}: {done.stderr}"
    return done.stdout.strip()


def open_image(env, window: str, path: Path) -> None:
    """File → Open (Ctrl+O), type the path into the dialog, Return."""
    xdotool(env, "windowfocus", "--sync", window)
    xdotool(env, "key", "--clearmodifiers", "ctrl+o")
    time.sleep(1.5)  # the file dialog opens with the file name field focused
    xdotool(env, "type", "--delay", "20", str(path))
    xdotool(env, "key", "Return")
    time.sleep(1.5)


def drag(env, points: list[tuple[int, int]]) -> None:
    """A left-button stroke through the screen points, like a hand on a mouse."""
    xdotool(env, "mousemove", *map(str, points[0]))
    xdotool(env, "mousedown", "1")
    for x, y in points[1:]:
        xdotool(env, "mousemove", str(x), str(y))
        time.sleep(0.03)
    xdotool(env, "mouseup", "1")


@contextlib.contextmanager
def running_studio(env: dict, log: Path, output: Path):
    """`python -m studio` on the Xvfb screen; yields (process, window id) once it has drawn.

    On the way out the app is killed if still running and its console output saved to `output`.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "studio"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for(
            lambda: log.is_file() and "starting" in log.read_text(),
            60,
            "the log to say Studio started",
            proc,
        )
        window = xdotool(env, "search", "--sync", "--onlyvisible", "--name", "^Studio$")
        time.sleep(1.5)  # first paint
        yield proc, window.splitlines()[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        output.write_text(proc.stdout.read().decode(errors="replace") if proc.stdout else "")


def canvas_region(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_generate_in_a_real_window(tiny_sd_path, tmp_path):
    require_x_tools()
    home = tmp_path / "home"
    write_settings(home)
    out = artifacts_dir(tmp_path)
    log = home / "logs" / "studio.log"
    with Xvfb() as xv:
        env = xv.env(os.environ)
        env.update(
            STUDIO_HOME=str(home), STUDIO_MODELS_PATH=str(tiny_sd_path.parent), HF_HUB_OFFLINE="1"
        )
        with running_studio(env, log, out / "e2e-app-output.txt") as (proc, window):
            before = out / "e2e-before.png"
            grab_screen_png(xv.display, before)
            xdotool(env, "windowfocus", "--sync", window)
            xdotool(env, "key", "--clearmodifiers", "ctrl+Return")
            wait_for(
                lambda: "job 1 finished" in log.read_text(), 180, "the generation to finish", proc
            )
            time.sleep(1.0)  # the layer lands and the canvas repaints
            after = out / "e2e-after.png"
            grab_screen_png(xv.display, after)
            xdotool(env, "key", "--clearmodifiers", "ctrl+q")
            assert proc.wait(20) == 0
    a, b = canvas_region(before), canvas_region(after)
    assert b.std() > 10, "the screenshot after generating is blank"
    changed = np.abs(a - b).max(axis=2) > 24
    assert changed.mean() > 0.02, f"only {changed.mean():.3%} of the screen changed"
    text = log.read_text()
    assert "Traceback" not in text, text
    assert "job 1 started: Prompt: a lighthouse at dusk" in text
