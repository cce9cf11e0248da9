"""Write a recorded run as an animated GIF or WebP, an MP4 (with ffmpeg) or a PNG sequence."""

from __future__ import annotations

import io
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from studio.engine.requests import RunRecord
from studio.errors import Cancelled, StudioError
from studio.io.atomic import write_atomic
from studio.io.run_views import export_size, run_frames

FORMATS = {".gif": "GIF", ".webp": "WebP", ".mp4": "MP4"}
Progress = Callable[[int, int], None]  # (frames written, frames in all)


class ExportError(StudioError):
    """The run could not be written (format, ffmpeg, empty record, file system)."""


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


def export_kind(path: Path) -> str:
    """'GIF' | 'WebP' | 'MP4' by suffix; a path without a suffix is a PNG-sequence folder."""
    suffix = Path(path).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    if suffix:
        raise ExportError(
            f"Cannot export a run as {suffix!r}: use .gif, .webp, .mp4 or a folder name "
            "(PNG sequence)."
        )
    return "PNG"


def check_target(path: Path) -> str:
    """The export kind of `path`, or ExportError naming what is wrong (suffix, ffmpeg)."""
    kind = export_kind(path)
    if kind == "MP4" and ffmpeg_path() is None:
        raise ExportError(
            "MP4 export needs the ffmpeg program, which was not found on PATH. "
            "Install ffmpeg, or export as GIF or WebP."
        )
    return kind


def export_run(
    record: RunRecord,
    path: Path,
    view: str = "x0",
    fps: float = 8.0,
    max_side: int | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Write every recorded step; returns the file (or folder) written."""
    path = Path(path)
    kind = check_target(path)
    if not record.frames:
        raise ExportError("The run has no recorded steps to export.")
    if not 0.5 <= fps <= 60:
        raise ExportError(f"Frames per second must be between 0.5 and 60, got {fps}.")
    size = export_size(record, max_side)
    if kind == "MP4":
        size = (size[0] + size[0] % 2, size[1] + size[1] % 2)  # yuv420p needs even sides
    total = len(record.frames)
    frames = []
    for done, frame in enumerate(run_frames(record, view, size), 1):
        if cancel is not None and cancel.is_set():
            raise Cancelled("The export was stopped; nothing was written.")
        frames.append(frame)
        if progress is not None:
            progress(done, total)
    return export_frames(frames, path, fps)


def export_frames(frames: list[np.ndarray], path: Path, fps: float = 8.0) -> Path:
    """Write HxWx3 uint8 frames of one size as GIF/WebP/MP4 or a PNG folder, by `path`."""
    path = Path(path)
    kind = check_target(path)
    if not frames:
        raise ExportError("There are no pictures to export.")
    if kind == "MP4" and (frames[0].shape[0] % 2 or frames[0].shape[1] % 2):
        from studio.io.run_views import resized

        h, w = frames[0].shape[:2]
        frames = [resized(f, w + w % 2, h + h % 2) for f in frames]
    try:
        if kind == "PNG":
            return _png_sequence(frames, path)
        if kind == "MP4":
            return _mp4(frames, path, fps)
        return _animated(frames, path, kind, fps)
    except OSError as exc:
        raise ExportError(f"Could not write {path}: {exc}", str(exc)) from exc


def _png_sequence(frames: list[np.ndarray], folder: Path) -> Path:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for step, frame in enumerate(frames, 1):
        target = folder / f"step-{step:04d}.png"
        write_atomic(target, lambda handle, f=frame: Image.fromarray(f).save(handle, "PNG"))
    return folder


def _animated(frames: list[np.ndarray], path: Path, kind: str, fps: float) -> Path:
    from PIL import Image

    images = [Image.fromarray(f) for f in frames]
    duration = max(20, round(1000 / fps))  # ms per frame; GIF counts in 10 ms units
    buffer = io.BytesIO()
    options = dict(save_all=True, append_images=images[1:], duration=duration, loop=0)
    if kind == "WebP":
        options.update(lossless=True)
    else:
        options.update(disposal=1)  # each frame is a full picture; keep GIF from merging them
    images[0].save(buffer, kind.upper(), **options)
    write_atomic(path, lambda handle: handle.write(buffer.getvalue()))
    return path


def _mp4(frames: list[np.ndarray], path: Path, fps: float) -> Path:
    height, width = frames[0].shape[:2]
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        ffmpeg_path() or "ffmpeg",
        "-y",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{width}x{height}",
        "-r",
        f"{fps:g}",
        "-i",
        "-",
        "-pix_fmt",
        "yuv420p",
        "-c:v",
        "libx264",
        str(path),
    ]
    data = b"".join(np.ascontiguousarray(f).tobytes() for f in frames)
    done = subprocess.run(command, input=data, capture_output=True, check=False)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise ExportError(f"ffmpeg could not write {path.name} (exit {done.returncode}).", message)
    return path
