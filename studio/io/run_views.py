"""Pictures of one recorded step: x_t, x0, change since the last step, noise removed (no Qt)."""

from __future__ import annotations

import numpy as np

from studio.engine.requests import RunRecord, StepFrame

VIEWS: dict[str, str] = {
    "xt": "Noisy state x_t",
    "x0": "Predicted image x0",
    "delta": "Change since the previous step",
    "noise": "Noise removed by this step",
}
DELTA_GAIN = 4.0  # |x0 - previous x0| is small; amplify so it is visible


def _full_or_thumb(frame: StepFrame, view: str) -> np.ndarray:
    """The full-size picture of `view`, or the thumbnail when the cap dropped it."""
    full = frame.xt if view == "xt" else frame.x0
    if full is not None:
        return np.asarray(full)
    return np.asarray(frame.thumb_xt if view == "xt" else frame.thumb_x0)


def resized(image: np.ndarray, width: int, height: int, smooth: bool = True) -> np.ndarray:
    """HxWx3 uint8 to width x height (bicubic, or nearest to show the latent grid)."""
    from PIL import Image

    if image.shape[:2] == (height, width):
        return np.ascontiguousarray(image)
    mode = Image.Resampling.BICUBIC if smooth else Image.Resampling.NEAREST
    return np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize((width, height), mode))


def view_image(record: RunRecord, index: int, view: str) -> np.ndarray:
    """HxWx3 uint8 picture of step `index` (0-based) in `view` (latent or thumbnail size)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    frame = record.frames[index]
    if view in ("xt", "x0"):
        return _full_or_thumb(frame, view)
    if view == "noise":
        if frame.noise is not None:
            return np.asarray(frame.noise)
        return np.full_like(np.asarray(frame.thumb_x0), 128)
    now = _full_or_thumb(frame, "x0").astype(np.int16)
    if index == 0:
        return np.zeros(now.shape, np.uint8)
    before = _full_or_thumb(record.frames[index - 1], "x0").astype(np.int16)
    if before.shape != now.shape:  # one of the two is a thumbnail
        before = resized(before.astype(np.uint8), now.shape[1], now.shape[0]).astype(np.int16)
    return np.clip(np.abs(now - before) * DELTA_GAIN, 0, 255).astype(np.uint8)


def export_size(record: RunRecord, max_side: int | None = None) -> tuple[int, int]:
    """The run's output size, scaled down to fit `max_side` (keeps the aspect ratio)."""
    width, height = record.width, record.height
    if max_side and max(width, height) > max_side:
        scale = max_side / max(width, height)
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
    return width, height


def run_frames(record: RunRecord, view: str = "x0", size: tuple[int, int] | None = None):
    """Yield every step of the run in `view` as HxWx3 uint8 at `size` (default: output size)."""
    width, height = size or export_size(record)
    for index in range(len(record.frames)):
        yield resized(view_image(record, index, view), width, height)
