"""A virtual X screen for end-to-end tests, and a way to photograph it.

Plain helpers, no pytest fixtures: wrap them in fixtures where they are used.

    with Xvfb() as xv:
        subprocess.run([...], env=xv.env(os.environ))
        grab_screen_png(xv.display, "shot.png")

Needs Debian's ``xvfb`` (the ``Xvfb`` server) and ``x11-apps`` (``xwd``, for screenshots);
``.ci/run`` installs both. The XWD dump that ``xwd`` writes is decoded here with numpy and
saved with Pillow, so ImageMagick is not needed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image

SCREEN = "1600x1000x24"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 3.0
FIRST_DISPLAY = 99
MAX_DISPLAY = 1000


def xvfb_available() -> bool:
    """True when the Xvfb server is on PATH."""
    return shutil.which("Xvfb") is not None


def xwd_available() -> bool:
    """True when ``xwd`` (needed by :func:`grab_screen_png`) is on PATH."""
    return shutil.which("xwd") is not None


def _socket_path(n: int) -> Path:
    return Path(f"/tmp/.X11-unix/X{n}")


def _display_in_use(n: int) -> bool:
    return Path(f"/tmp/.X{n}-lock").exists() or _socket_path(n).exists()


def _free_displays(start: int = FIRST_DISPLAY):
    for n in range(start, MAX_DISPLAY):
        if not _display_in_use(n):
            yield n


def _accepts_connections(path: Path) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(1.0)
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Xvfb:
    """Context manager that runs ``Xvfb :n -screen 0 1600x1000x24 -nolisten tcp``.

    ``display`` is e.g. ``":99"`` once started; ``env(base)`` gives an environment for a
    child process that should draw on this screen.
    """

    def __init__(self, screen: str = SCREEN, timeout: float = START_TIMEOUT) -> None:
        self.screen = screen
        self.timeout = timeout
        self.display: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> Xvfb:
        exe = shutil.which("Xvfb")
        if exe is None:
            raise RuntimeError(
                "Xvfb not found on PATH: install Debian's 'xvfb' package "
                "(apt-get install xvfb; .ci/run does this)"
            )
        errors: list[str] = []
        for _attempt, n in zip(range(5), _free_displays(), strict=False):
            err = self._try_start(exe, n)
            if err is None:
                self.display = f":{n}"
                return self
            errors.append(f":{n}: {err}")
            # Another process may have taken :n between our check and Xvfb's start: then try
            # the next free number. Any other failure would only repeat.
            if not _display_in_use(n):
                break
        raise RuntimeError("could not start Xvfb:\n" + "\n".join(errors))

    def _try_start(self, exe: str, n: int) -> str | None:
        """Start Xvfb on :n and wait for its socket. None on success, else the reason."""
        # Kept open for the server's lifetime, closed (and so removed) in _cleanup().
        self._log = tempfile.NamedTemporaryFile(prefix=f"xvfb-{n}-", suffix=".log")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [exe, f":{n}", "-screen", "0", self.screen, "-nolisten", "tcp"],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        sock = _socket_path(n)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                reason = f"Xvfb exited with code {self.proc.returncode}\n{self._read_log()}"
                self._cleanup()
                return reason
            if sock.exists() and _accepts_connections(sock):
                return None
            time.sleep(0.05)
        log = self._read_log()
        self.stop()
        return (
            f"Xvfb did not create {sock} within {self.timeout:.0f} s "
            f"(is /tmp/.X11-unix writable?)\n{log}"
        )

    def _read_log(self) -> str:
        if self._log is None:
            return ""
        try:
            text = Path(self._log.name).read_text(errors="replace").strip()
        except OSError:
            return ""
        return text if len(text) <= 3000 else f"{text[:1500]}\n[...]\n{text[-1500:]}"

    def _cleanup(self) -> None:
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        """Terminate Xvfb; kill it if it has not gone after 3 s."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._cleanup()
        self.display = None

    def __enter__(self) -> Xvfb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- use ---------------------------------------------------------------------------
    @property
    def log(self) -> str:
        """What Xvfb has printed so far."""
        return self._read_log()

    def env(self, base_env: Mapping[str, str] | None = None) -> dict[str, str]:
        """A copy of ``base_env`` (default: os.environ) that makes Qt draw on this screen."""
        if self.display is None:
            raise RuntimeError("Xvfb is not running")
        env = dict(os.environ if base_env is None else base_env)
        env["DISPLAY"] = self.display
        env["QT_QPA_PLATFORM"] = "xcb"
        env.pop("WAYLAND_DISPLAY", None)
        return env


# -- screenshots -----------------------------------------------------------------------
# XWDFileHeader: 25 big-endian CARD32 fields.
_XWD_FIELDS = (
    "header_size",
    "file_version",
    "pixmap_format",
    "pixmap_depth",
    "pixmap_width",
    "pixmap_height",
    "xoffset",
    "byte_order",
    "bitmap_unit",
    "bitmap_bit_order",
    "bitmap_pad",
    "bits_per_pixel",
    "bytes_per_line",
    "visual_class",
    "red_mask",
    "green_mask",
    "blue_mask",
    "bits_per_rgb",
    "colormap_entries",
    "ncolors",
    "window_width",
    "window_height",
    "window_x",
    "window_y",
    "window_bdrwidth",
)


def _channel(pixels: np.ndarray, mask: int) -> np.ndarray:
    if mask == 0:
        return np.zeros(pixels.shape, np.uint8)
    shift = (mask & -mask).bit_length() - 1
    top = mask >> shift
    values = (pixels >> shift) & top
    if top == 255:
        return values.astype(np.uint8)
    return (values.astype(np.uint32) * 255 // top).astype(np.uint8)


def xwd_to_image(data: bytes) -> Image.Image:
    """Decode an XWD dump (as ``xwd`` writes it) of a TrueColor screen to an RGB image."""
    if len(data) < 100:
        raise ValueError(f"not an XWD dump: {len(data)} bytes")
    head = dict(zip(_XWD_FIELDS, np.frombuffer(data[:100], ">u4").tolist(), strict=True))
    if head["file_version"] != 7 or head["pixmap_format"] != 2:
        raise ValueError(
            f"unsupported XWD (version {head['file_version']}, format {head['pixmap_format']})"
        )
    bpp = head["bits_per_pixel"]
    dtypes = {16: "u2", 32: "u4"}
    if bpp not in dtypes and bpp != 24:
        raise ValueError(f"unsupported XWD bits per pixel: {bpp}")
    width, height, stride = head["pixmap_width"], head["pixmap_height"], head["bytes_per_line"]
    offset = head["header_size"] + head["ncolors"] * 12
    size = stride * height
    if len(data) < offset + size:
        raise ValueError(f"truncated XWD: {len(data)} bytes, expected {offset + size}")
    rows = np.frombuffer(data, np.uint8, size, offset).reshape(height, stride)
    order = "<" if head["byte_order"] == 0 else ">"
    if bpp == 24:
        b = rows[:, : width * 3].reshape(height, width, 3).astype(np.uint32)
        if order == "<":
            pixels = b[..., 0] | (b[..., 1] << 8) | (b[..., 2] << 16)
        else:
            pixels = (b[..., 0] << 16) | (b[..., 1] << 8) | b[..., 2]
    else:
        nbytes = bpp // 8
        pixels = (
            rows[:, : width * nbytes]
            .copy()
            .view(order + dtypes[bpp])
            .reshape(height, width)
            .astype(np.uint32)
        )
    rgb = np.stack(
        [_channel(pixels, head[m]) for m in ("red_mask", "green_mask", "blue_mask")], axis=-1
    )
    return Image.fromarray(rgb, "RGB")


def grab_screen_png(display: str, path: str | os.PathLike[str], timeout: float = 20.0) -> Path:
    """Save a PNG of the whole X screen ``display`` (e.g. ":99") to ``path``; return the path.

    Uses ``xwd -root`` (Debian's x11-apps) and decodes its dump here.
    """
    exe = shutil.which("xwd")
    if exe is None:
        raise RuntimeError(
            "xwd not found on PATH: install Debian's 'x11-apps' package (.ci/run does this)"
        )
    result = subprocess.run(
        [exe, "-root", "-silent", "-display", display],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(
            f"xwd -root -display {display} failed ({result.returncode}): "
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    xwd_to_image(result.stdout).save(out, "PNG")
    return out
