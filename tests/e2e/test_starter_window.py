"""End to end on the starter diffusion: `python -m studio` under Xvfb, a tiny starter folder as
the only model, driven with real keys and mouse strokes through Prompt, Paint and Inpaint."""

from __future__ import annotations

import os
import re
import time

import numpy as np
import pytest
from PIL import Image

from studio.document.layers import LABEL, MASK
from studio.document.palette import load_palette
from tests.e2e.test_label_painting import IMAGE_RGB, _near
from tests.e2e.test_real_window import (
    artifacts_dir,
    drag,
    open_image,
    require_x_tools,
    running_studio,
    wait_for,
    xdotool,
)
from tests.starter_models import save_tiny_starter_diffusion
from tests.xvfb import Xvfb, grab_screen_png

pytestmark = pytest.mark.e2e
BANNER_RGB = (227, 238, 252)  # the first-run banner's background
PROMPT = "a lake at sunset, mountains"
STEPS = 8
LANDED = re.compile(r"job (\d+) landed as '(.*)' after (\d+) steps \((\d+) previews shown\)")


def _settings(home) -> None:
    from PySide6.QtCore import QSettings

    home.mkdir(parents=True, exist_ok=True)
    s = QSettings(str(home / "settings.ini"), QSettings.Format.IniFormat)
    for key, value in {
        "prompt/steps": STEPS,
        "prompt/random_seed": "false",
        "prompt/seed": 5,
        "engine/device": "cpu",
        "engine/dtype": "float32",
        "timeline/compact": "false",  # open from the start: the canvas never moves (see
        # test_real_window.write_settings)
    }.items():
        s.setValue(key, value)
    s.sync()


def _shot(display, path) -> np.ndarray:
    grab_screen_png(display, path)
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), np.int16)


def _landed(log, job: int) -> tuple[str, int, int] | None:
    for m in LANDED.finditer(log.read_text()):
        if int(m.group(1)) == job:
            return m.group(2), int(m.group(3)), int(m.group(4))
    return None


class Canvas:
    """Where the opened image sits on screen; points given as fractions of it."""

    def __init__(self, pixels: np.ndarray) -> None:
        ys, xs = np.nonzero(_near(pixels, IMAGE_RGB))
        assert len(xs) > 5000, "the opened image is not on screen"
        self.x0, self.x1, self.y0, self.y1 = xs.min(), xs.max(), ys.min(), ys.max()

    def at(self, fx: float, fy: float) -> tuple[int, int]:
        return (
            round(self.x0 + fx * (self.x1 - self.x0)),
            round(self.y0 + fy * (self.y1 - self.y0)),
        )

    def region(self, pixels: np.ndarray) -> np.ndarray:
        return pixels[self.y0 : self.y1 + 1, self.x0 : self.x1 + 1]

    def zigzag(self, fy0: float, fy1: float, fx0: float = 0.05, fx1: float = 0.95):
        """A back-and-forth stroke filling the band fy0..fy1 (fractions)."""
        points = []
        for i, fy in enumerate(np.linspace(fy0, fy1, 4)):
            xs = np.linspace(fx0, fx1, 10)
            points += [self.at(fx, fy) for fx in (xs if i % 2 == 0 else xs[::-1])]
        return points


def _key(env, window, *keys: str) -> None:
    xdotool(env, "windowfocus", "--sync", window)
    for k in keys:
        xdotool(env, "key", "--clearmodifiers", k)
        time.sleep(0.25)


def _choose_class(env, window, canvas: Canvas, name: str) -> None:
    """Ctrl+F, type the class, Enter; then a middle click gives the canvas the keyboard."""
    _key(env, window, "ctrl+f")
    xdotool(env, "type", "--delay", "30", name)
    _key(env, window, "Return")
    xdotool(env, "mousemove", *map(str, canvas.at(0.5, 0.02)))
    xdotool(env, "click", "2")
    time.sleep(0.3)


def test_prompt_paint_and_inpaint_on_a_tiny_starter(tmp_path):
    require_x_tools()
    home = tmp_path / "home"
    _settings(home)
    models = tmp_path / "models"
    save_tiny_starter_diffusion(models / "starter-diffusion")
    out = artifacts_dir(tmp_path)
    image_path = tmp_path / "start.png"
    Image.fromarray(np.full((256, 384, 3), IMAGE_RGB, np.uint8)).save(image_path)
    project = tmp_path / "made.studio"
    log = home / "logs" / "studio.log"
    with Xvfb() as xv:
        env = xv.env(os.environ)
        env.update(STUDIO_HOME=str(home), STUDIO_MODELS_PATH=str(models), HF_HUB_OFFLINE="1")
        env.update(STUDIO_NO_PRELOAD="1")
        with running_studio(env, log, out / "starter-app-output.txt") as (proc, window):
            launch = _shot(xv.display, out / "starter-launch.png")
            open_image(env, window, image_path)
            canvas = Canvas(_shot(xv.display, out / "starter-opened.png"))

            # Prompt: type it, generate, watch it land
            _key(env, window, "alt+1", "alt+p")
            xdotool(env, "type", "--delay", "20", PROMPT)
            _key(env, window, "ctrl+Return")
            wait_for(lambda: _landed(log, 1), 120, "the prompt run to land", proc)
            time.sleep(1.0)
            prompted = _shot(xv.display, out / "starter-prompt.png")

            # Paint: a label layer, sky everywhere, then mountain, water and grass strokes
            _key(env, window, "alt+2", "ctrl+shift+l")
            _choose_class(env, window, canvas, "sky")
            _key(env, window, "g")  # fill: the empty layer becomes sky
            xdotool(env, "mousemove", *map(str, canvas.at(0.5, 0.1)))
            xdotool(env, "click", "1")
            time.sleep(0.5)
            _choose_class(env, window, canvas, "mountain")
            _key(env, window, "b", *["bracketright"] * 4)  # brush, 24 -> 50 px
            drag(env, canvas.zigzag(0.35, 0.55))
            _choose_class(env, window, canvas, "water")
            drag(env, canvas.zigzag(0.7, 0.95))
            _choose_class(env, window, canvas, "grass")
            drag(env, canvas.zigzag(0.6, 0.68, 0.05, 0.4))
            time.sleep(0.5)
            labelled = _shot(xv.display, out / "starter-labels.png")
            _key(env, window, "ctrl+Return")
            wait_for(lambda: _landed(log, 2), 120, "the paint run to land", proc)
            time.sleep(1.0)
            painted = _shot(xv.display, out / "starter-paint.png")

            # Inpaint: a mask stroke across the middle, then repaint under it
            _key(env, window, "ctrl+shift+m")
            drag(env, [canvas.at(fx, 0.45) for fx in np.linspace(0.3, 0.7, 12)])
            time.sleep(0.5)
            _key(env, window, "alt+3", "ctrl+Return")
            wait_for(lambda: _landed(log, 3), 120, "the inpaint run to land", proc)
            time.sleep(1.0)
            inpainted = _shot(xv.display, out / "starter-inpaint.png")

            _key(env, window, "ctrl+s")
            time.sleep(1.5)  # the save dialog, its file name field focused
            xdotool(env, "key", "--clearmodifiers", "ctrl+a")  # over "untitled.studio"
            xdotool(env, "type", "--delay", "20", str(project))
            time.sleep(0.3)
            grab_screen_png(xv.display, out / "starter-save-dialog.png")
            xdotool(env, "key", "Return")
            wait_for(project.is_file, 30, "the project to be saved", proc)
            _key(env, window, "ctrl+q")
            assert proc.wait(20) == 0

    text = log.read_text()
    assert "Traceback" not in text, text
    # the first-run banner was there at launch (only the starter is installed)
    assert _near(launch, BANNER_RGB, tol=2).sum() > 5000
    # every run streamed its steps to the canvas and landed as a layer
    for job, mode in ((1, "Prompt"), (2, "Paint"), (3, "Inpaint")):
        name, steps, previews = _landed(log, job)
        assert name.startswith(f"{mode}: "), name
        assert steps == STEPS and previews >= 1, (job, steps, previews)
    assert f"job 1 started: Prompt: {PROMPT}" in text
    # each picture appeared where the image was
    shown = canvas.region(prompted)
    assert _near(shown, IMAGE_RGB, tol=12).mean() < 0.05, "the prompt result is not shown"
    assert np.abs(canvas.region(painted) - canvas.region(labelled)).max(axis=2).mean() > 10
    assert np.abs(canvas.region(inpainted) - canvas.region(painted)).max(axis=2).mean() > 0.5
    _check_project(project)


def _check_project(project) -> None:
    from studio.document.files import layers_from_project
    from studio.io.project import load_project

    layers = layers_from_project(load_project(project))
    by_name = {la.name.split(":")[0]: la for la in layers}
    prompt, paint, inpaint = by_name["Prompt"], by_name["Paint"], by_name["Inpaint"]
    assert prompt.metadata["prompt"] == PROMPT and prompt.metadata["model_family"] == "starter"
    assert prompt.pixels.shape == (256, 384, 4) and np.ptp(prompt.pixels[..., :3]) > 0
    labels = next(la for la in layers if la.kind == LABEL).pixels
    landscape = load_palette("Landscape")
    names = {landscape.entry(int(v)).name for v in np.unique(labels) if v}
    assert names == {"sky", "mountain", "water", "grass"}, names
    assert (paint.sources["label_map"] == labels).all()  # the strokes, as painted
    mask = next(la for la in layers if la.kind == MASK).pixels
    assert 0.02 < (mask >= 128).mean() < 0.5
    kept = mask < 128
    # unmasked pixels unchanged, exactly; under the mask the picture was repainted
    assert (inpaint.pixels[kept][:, :3] == paint.pixels[kept][:, :3]).all()
    under = mask >= 200
    changed = np.abs(inpaint.pixels[..., :3].astype(int) - paint.pixels[..., :3]).max(axis=-1)
    assert (changed[under] > 0).mean() > 0.5
