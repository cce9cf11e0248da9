"""Synthetic landscape scenes: a procedural label map (engine/starter/layout.py) rendered into a
picture aligned with it, styled by time of day, weather and season. numpy only, deterministic
per seed: `render_scene(seed)` -> (image HxWx3 uint8, labels HxW uint16, meta dict).

Reproducibility: a seed renders the same bytes for a given GENERATOR_VERSION (recorded in every
dataset.json `studio data synth` writes). Any change to what an unconditioned scene looks like
must bump the version; tests/training/test_synth.py pins version-1 scenes. Layouts with asked-for
materials (the engine's prompt path) are not part of a dataset and may improve freely.
Painting lives in synth_paint.py (sky, clouds, land) and synth_objects.py (objects, haze, water).
"""

from __future__ import annotations

import numpy as np

from studio.engine.starter.layout import V, sample_layout
from studio.engine.starter.vocab import MATERIALS, SEASONS, TIMES, WEATHERS, caption
from studio.training import synth_objects as objs
from studio.training import synth_paint as paint

GENERATOR = "studio-synth"
GENERATOR_VERSION = 1
_TIME_P = (0.4, 0.22, 0.2, 0.18)
_WEATHER_P = (0.5, 0.3, 0.2)
_SEASON_P = (0.4, 0.3, 0.3)


def render_scene(
    seed_or_rng: int | np.random.Generator, size: int | tuple[int, int] = 256
) -> tuple[np.ndarray, np.ndarray, dict]:
    """(image HxWx3 uint8, labels HxW uint16 Landscape values, meta) for one seed."""
    if isinstance(seed_or_rng, np.random.Generator):
        rng, seed = seed_or_rng, None
    else:
        seed = int(seed_or_rng)
        rng = np.random.default_rng([GENERATOR_VERSION, seed])
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if h < 64 or w < 64:
        raise ValueError(f"Synthetic scenes are at least 64x64 pixels, not {w}x{h}.")
    time = TIMES[rng.choice(len(TIMES), p=_TIME_P)]
    weather = WEATHERS[rng.choice(len(WEATHERS), p=_WEATHER_P)]
    season = SEASONS[rng.choice(len(SEASONS), p=_SEASON_P)]
    labels, layout = sample_layout(rng, (h, w), (), weather=weather, season=season)
    image = render_labels(rng, labels, layout, time, weather, season)
    shares = np.bincount(labels.ravel(), minlength=len(MATERIALS) + 1) / labels.size
    order = [i for i in np.argsort(-shares[1:], kind="stable") + 1 if shares[i] >= 0.03]
    names = [MATERIALS[i - 1] for i in order if MATERIALS[i - 1] not in ("sky", "fog")][:5]
    meta = {
        "time": time,
        "weather": weather,
        "season": season,
        "caption": caption(time, weather, season, names),
        "seed": seed,
    }
    return image, labels, meta


def render_labels(
    rng: np.random.Generator,
    labels: np.ndarray,
    layout: dict,
    time: str = "day",
    weather: str = "clear",
    season: str = "summer",
) -> np.ndarray:
    """Paint a label map (with the layout's style dict) into an HxWx3 uint8 picture."""
    h, w = labels.shape
    horizon = float(layout.get("horizon", h * 0.45))
    light = paint.lighting(time, weather)
    tex = paint.Textures(rng, h, w)
    img = np.zeros((h, w, 3), dtype=np.float32)
    yy = np.arange(h, dtype=np.float32)[:, None]
    depth = np.clip((yy - horizon) / max(1.0, h - horizon), 0, 1) * np.ones((1, w), np.float32)

    sky = paint.sky(rng, h, w, horizon, light, tex)
    img[:] = sky
    masks = {name: labels == v for name, v in V.items()}
    paint.clouds(img, masks["clouds"], light, tex)
    paint.land(img, masks, light, tex, depth, season, layout)
    objs.objects(img, labels, masks, light, tex, season, layout, time)
    objs.atmosphere(img, labels, masks, light, depth, horizon, layout)
    objs.water(img, masks, light, tex, depth, horizon, layout)
    # Fine grain so no region is a flat fill.
    img += (tex.fine[..., None] - 0.5) * 6.0
    return np.clip(img, 0, 255).astype(np.uint8)
