"""Screenshots of Studio on the models it finds (by default the bundled starters in models/).

Starts `python -m studio` on a virtual X screen (Xvfb, 1400x900) with a fresh settings folder,
drives it with real keys and mouse strokes (xdotool) and saves PNGs of the whole screen plus a
crop of the canvas after each step:

    1 launch           first start (the first-run banner when only starters are installed)
    2 prompt           the Prompt result of "a lake at sunset, mountains"
    3 labels           sky / mountain / water / grass painted on a label layer (Paint tab)
    4 paint-running    2.5 s into generating from those labels (the preview of a step)
    5 paint            the finished picture from the labels
    6 mask             a mask painted over the middle (Inpaint tab)
    7 inpaint          the repainted result

The canvas starts as a plain 768x512 picture (opened with Ctrl+O) so its place on screen can be
found. Needs Xvfb, xwd and xdotool (Debian: xvfb x11-apps xdotool). Run from the repo root:

    python benchmarks/starter_tour.py --out shots
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.xvfb import Xvfb, grab_screen_png  # noqa: E402

START_RGB = (200, 120, 40)  # the opened picture, found on screen by this colour
LANDED = re.compile(r"job (\d+) landed as '(.*)' after (\d+) steps \((\d+) previews shown\)")


class Tour:
    """One Studio process on one X screen, with the few gestures the tour needs."""

    def __init__(self, xv: Xvfb, home: Path, out: Path) -> None:
        self.xv, self.home, self.out = xv, home, out
        self.log = home / "logs" / "studio.log"
        self.env = xv.env(os.environ)
        self.env.update(STUDIO_HOME=str(home), HF_HUB_OFFLINE="1")
        self.env.pop("STUDIO_BUNDLED_MODELS", None)  # the shipped models/ folder
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "studio"],
            env=self.env,
            stdout=(out / "tour-app-output.txt").open("w"),
            stderr=subprocess.STDOUT,
        )
        self.wait(lambda: self.log.is_file() and "starting" in self.log.read_text(), 90, "start")
        found = self.x("search", "--sync", "--onlyvisible", "--name", "^Studio$")
        self.window = found.splitlines()[0]
        self.x("windowmove", self.window, "0", "0")
        self.x("windowsize", "--sync", self.window, *xv.screen.split("x")[:2])
        time.sleep(2.0)
        self.box: tuple[int, int, int, int] | None = None

    def x(self, *args: str) -> str:
        done = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"xdotool {args}: {done.stderr}")
        return done.stdout.strip()

    def wait(self, ok, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ok():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"Studio exited ({self.proc.returncode}) waiting for {what}")
            time.sleep(0.2)
        raise RuntimeError(f"timed out waiting for {what}")

    def keys(self, *keys: str) -> None:
        self.x("windowfocus", "--sync", self.window)
        for k in keys:
            self.x("key", "--clearmodifiers", k)
            time.sleep(0.3)

    def type(self, text: str) -> None:
        self.x("type", "--delay", "25", text)

    def shot(self, name: str) -> np.ndarray:
        path = grab_screen_png(self.xv.display, self.out / f"{name}.png")
        pixels = np.asarray(Image.open(path).convert("RGB"))
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            Image.fromarray(pixels[y0 : y1 + 1, x0 : x1 + 1]).save(self.out / f"{name}-canvas.png")
        print("saved", self.out / f"{name}.png", flush=True)
        return pixels

    def find_canvas(self, pixels: np.ndarray) -> None:
        near = (np.abs(pixels.astype(int) - START_RGB) <= 6).all(axis=2)
        ys, xs = np.nonzero(near)
        if len(xs) < 5000:
            raise RuntimeError("the opened picture is not on screen")
        self.box = (xs.min(), ys.min(), xs.max(), ys.max())

    def at(self, fx: float, fy: float) -> tuple[str, str]:
        x0, y0, x1, y1 = self.box
        return str(round(x0 + fx * (x1 - x0))), str(round(y0 + fy * (y1 - y0)))

    def stroke(self, points: list[tuple[float, float]]) -> None:
        self.x("mousemove", *self.at(*points[0]))
        self.x("mousedown", "1")
        for p in points[1:]:
            self.x("mousemove", *self.at(*p))
            time.sleep(0.02)
        self.x("mouseup", "1")
        time.sleep(0.3)

    def band(self, fy0: float, fy1: float, fx0: float = 0.02, fx1: float = 0.98, rows: int = 4):
        pts = []
        for i, fy in enumerate(np.linspace(fy0, fy1, rows)):
            xs = np.linspace(fx0, fx1, 14)
            pts += [(fx, fy) for fx in (xs if i % 2 == 0 else xs[::-1])]
        self.stroke(pts)

    def choose_class(self, name: str) -> None:
        """Ctrl+F in the Palette, type, Enter; a middle click hands the keys back to the canvas."""
        self.keys("ctrl+f")
        self.type(name)
        self.keys("Return")
        self.x("mousemove", *self.at(0.5, 0.01))
        self.x("click", "2")
        time.sleep(0.3)

    def landed(self) -> list[str]:
        """Every 'job N landed as …' line so far (live-draft jobs take ids but never land)."""
        return [m.group(0) for m in LANDED.finditer(self.log.read_text())]

    def generate(self, running_shot: str | None = None) -> None:
        before = len(self.landed())
        self.keys("ctrl+Return")
        if running_shot:
            time.sleep(4.0)  # a few steps in
            self.shot(running_shot)
        self.wait(lambda: len(self.landed()) > before, 300, "the generated layer")
        print(self.landed()[-1], flush=True)
        time.sleep(1.5)

    def quit(self) -> None:
        if self.proc.poll() is None:
            self.keys("ctrl+q")
            time.sleep(1.0)
            # unsaved work: Studio keeps an autosave and quits without asking
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def run(out: Path, prompt: str, screen: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="studio-tour-"))
    start = work / "start.png"
    Image.fromarray(np.full((512, 768, 3), START_RGB, np.uint8)).save(start)
    with Xvfb(f"{screen}x24") as xv:
        tour = Tour(xv, work / "home", out)
        try:
            tour.shot("1-launch")
            tour.keys("ctrl+o")
            time.sleep(1.5)
            tour.type(str(start))
            tour.x("key", "Return")  # to the file dialog (keys() would focus the window)
            time.sleep(2.0)
            tour.find_canvas(tour.shot("0-opened"))

            tour.keys("alt+1", "alt+p")
            tour.type(prompt)
            tour.generate()
            tour.shot("2-prompt")

            tour.keys("alt+2", "ctrl+shift+l")
            tour.choose_class("sky")
            tour.keys("g")  # fill the empty label layer with sky
            tour.x("mousemove", *tour.at(0.5, 0.1))
            tour.x("click", "1")
            time.sleep(0.5)
            tour.choose_class("mountain")
            tour.keys("b", *["bracketright"] * 5)  # brush, 24 -> 60 px
            tour.stroke([(0.0, 0.55), (0.15, 0.38), (0.3, 0.5), (0.45, 0.3), (0.62, 0.48),
                         (0.8, 0.35), (1.0, 0.52)])  # fmt: skip
            tour.band(0.45, 0.58)
            tour.choose_class("water")
            tour.band(0.62, 0.8)
            tour.choose_class("grass")
            tour.band(0.82, 0.98)
            tour.shot("3-labels")
            tour.generate(running_shot="4-paint-running")
            tour.shot("5-paint")

            tour.keys("ctrl+shift+m")
            tour.band(0.4, 0.6, 0.35, 0.65, rows=3)
            tour.keys("alt+3")
            tour.shot("6-mask")
            tour.generate()
            tour.shot("7-inpaint")
        finally:
            tour.quit()
    print("log:", tour.log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("shots"), help="folder for the PNGs")
    parser.add_argument("--prompt", default="a lake at sunset, mountains")
    parser.add_argument("--screen", default="1400x900", help="virtual screen size WxH")
    args = parser.parse_args()
    run(args.out, args.prompt, args.screen)


if __name__ == "__main__":
    main()
