"""Procedural landscape label maps in the Landscape palette (numpy only, no torch, no Qt).

`sample_layout(rng, (H, W), materials)` draws sky (with clouds) on top, a horizon, distant
mountains and hills, then ground (grass, fields, dirt, sand, rock, snow), water (sea, lake,
river, pond), roads and paths, flowers, bushes, trees and now and then houses, buildings,
bridges and fog. Values are vocab.MATERIALS index + 1. Materials asked for are made prominent.
The style dict tells the renderer where things are (horizon row, objects with their boxes).
"""

from __future__ import annotations

import numpy as np

from studio.engine.starter import noise
from studio.engine.starter.shapes import Canvas, place_objects
from studio.engine.starter.vocab import MATERIALS

V = {name: i + 1 for i, name in enumerate(MATERIALS)}
GROUND = (V["grass"], V["field"], V["dirt"], V["sand"], V["flower"], V["snow"])
_MIN_SHARE = 0.015  # a material asked for covers at least this share of the picture


def sample_layout(
    rng: np.random.Generator,
    size: tuple[int, int] = (256, 256),
    materials: tuple[str, ...] = (),
    *,
    weather: str | None = None,
    season: str | None = None,
) -> tuple[np.ndarray, dict]:
    """(labels HxW uint16, style dict); `materials` (vocab names) are made prominent."""
    unknown = [m for m in materials if m not in V]
    if unknown:
        raise ValueError(f"Unknown materials: {', '.join(unknown)} (see vocab.MATERIALS).")
    want = frozenset(materials)
    best = None
    for _ in range(4):  # re-draw when an asked-for material came out too small
        labels, style = _draw(rng, size, want, weather, season)
        shares = np.bincount(labels.ravel(), minlength=len(V) + 1) / labels.size
        short = sum(1 for m in want if shares[V[m]] < _MIN_SHARE)
        if best is None or short < best[0]:
            best = (short, labels, style)
        if short == 0:
            break
    return best[1], best[2]


def _chance(rng: np.random.Generator, p: float, forced: bool) -> bool:
    return forced or bool(rng.random() < p)


def _draw(rng, size, want, weather, season):
    h, w = int(size[0]), int(size[1])
    if h < 16 or w < 16:
        raise ValueError(f"A layout needs at least 16x16 pixels, not {w}x{h}.")
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    lab = np.full((h, w), V["sky"], dtype=np.uint16)
    winter = season == "winter" or "snow" in want
    horizon = h * rng.uniform(0.3, 0.58)
    if "sky" in want or "clouds" in want:
        horizon = max(horizon, h * 0.45)
    style: dict = {"horizon": float(horizon), "objects": []}

    # Clouds: thresholded fractal noise, squashed vertically, denser with cloudy weather.
    p_cloud = {"cloudy": 1.0, "foggy": 0.6, "clear": 0.3}.get(weather, 0.55)
    if _chance(rng, p_cloud, "clouds" in want):
        cover = rng.uniform(0.35, 0.75) if weather == "cloudy" else rng.uniform(0.12, 0.4)
        if "clouds" in want:
            cover = max(cover, 0.35)
        cn = noise.fbm(rng, h, w, (rng.uniform(2, 4), rng.uniform(2, 5)), 5)
        fade = np.clip((horizon - yy) / (horizon * 0.35 + 1), 0, 1)  # thinner near the horizon
        cn = cn * (0.55 + 0.45 * fade)
        sky_vals = cn[: max(1, int(horizon))]
        thr = np.quantile(sky_vals, 1.0 - cover)
        lab[(cn > thr) & (yy < horizon)] = V["clouds"]
        style["cloud_cover"] = float(cover)

    # Distant mountains (bluish ranges) and nearer hills, standing on the horizon.
    if _chance(rng, 0.55, "mountain" in want or "snow" in want and rng.random() < 0.5):
        amp = h * rng.uniform(0.12, 0.32) * (1.3 if "mountain" in want else 1.0)
        amp = min(amp, horizon * 0.85)
        ridge = noise.line(rng, w, rng.uniform(2, 5), 6)
        ridge = (ridge - ridge.min()) / (np.ptp(ridge) + 1e-6)
        top = horizon - amp * (0.25 + 0.75 * ridge)
        mount = yy >= top[None, :]
        lab[mount] = V["mountain"]
        style["mountain_top"] = float(top.min())
        snowy = winter or rng.random() < 0.4 or "snow" in want
        if snowy:
            depth = amp * (rng.uniform(0.25, 0.55) if winter else rng.uniform(0.1, 0.3))
            wob = noise.fbm(rng, h, w, (6, 12), 3)
            cap = mount & (yy < top[None, :] + depth * (0.4 + wob) * (0.3 + ridge[None, :]))
            lab[cap] = V["snow"]
    if _chance(rng, 0.45, "hill" in want):
        amp = h * rng.uniform(0.05, 0.16) * (1.4 if "hill" in want else 1.0)
        ridge = noise.line(rng, w, rng.uniform(1.5, 3), 4)
        ridge = (ridge - ridge.min()) / (np.ptp(ridge) + 1e-6)
        top = horizon + 1 - amp * ridge
        lab[yy >= top[None, :]] = V["hill"]
    _fog_band(rng, lab, yy, horizon, weather, want)

    # Ground below a slightly wavy horizon line.
    gline = horizon + (noise.line(rng, w, 3, 3) - 0.5) * h * 0.02
    ground = yy >= gline[None, :]
    depth = np.clip((yy - horizon) / max(1.0, h - horizon), 0, 1) * np.ones((1, w), np.float32)
    style["ground_line"] = gline.astype(np.float32)
    desert = _chance(rng, 0.06, "sand" in want and not ({"sea", "lake", "river"} & want))
    desert = desert and not ({"grass", "field", "flower", "dirt", "water"} & want)
    base = V["sand"] if desert else V["grass"]
    lab[ground] = base
    style["desert"] = bool(desert)

    if not desert:
        if _chance(rng, 0.35, "field" in want):
            fn = noise.fbm(rng, h, w, (3, 3), 3)
            band = (depth > 0.02) & (depth < rng.uniform(0.4, 0.8))
            thr = 0.45 if "field" in want else rng.uniform(0.5, 0.62)
            lab[ground & band & (fn > thr)] = V["field"]
        if _chance(rng, 0.35, "dirt" in want):
            dn = noise.fbm(rng, h, w, (4, 5), 4)
            lab[ground & (dn > (0.6 if "dirt" in want else rng.uniform(0.64, 0.74)))] = V["dirt"]
    if _chance(rng, 0.2, "rock" in want):
        rn = noise.fbm(rng, h, w, (3, 4), 5)
        thr = 0.6 if "rock" in want else rng.uniform(0.66, 0.76)
        lab[ground & (depth > 0.05) & (rn > thr)] = V["rock"]
    cv = Canvas(lab, yy, xx, depth, horizon, gline, style)
    _water(rng, cv, want, desert)
    if not desert and _chance(rng, 0.3, "flower" in want):
        pn = noise.fbm(rng, h, w, (4, 6), 4)
        thr = 0.58 if "flower" in want else rng.uniform(0.62, 0.72)
        lab[(lab == V["grass"]) & (depth > 0.1) & (pn > thr)] = V["flower"]
    if winter:
        sn = noise.fbm(rng, h, w, (4, 6), 4)
        cover = rng.uniform(0.55, 1.0) if season == "winter" else 0.6
        meltable = np.isin(lab, (V["grass"], V["field"], V["dirt"], V["flower"], V["hill"]))
        thr = np.quantile(sn, 1.0 - cover)
        lab[meltable & (sn >= thr) & (yy >= horizon - h * 0.2)] = V["snow"]
    place_objects(rng, cv, want, winter)
    return lab, style


def _fog_band(rng, lab, yy, horizon, weather, want):
    """Foggy scenes (and "fog" asked for): a band of fog lying on the horizon."""
    if not _chance(rng, 0.5 if weather == "foggy" else 0.0, "fog" in want):
        return
    h, w = lab.shape
    thick = h * rng.uniform(0.05, 0.12) * (1.5 if "fog" in want else 1.0)
    fn = noise.fbm(rng, h, w, (3, 6), 4)
    top = horizon - thick * (0.4 + 0.9 * fn)
    bottom = horizon + thick * (0.2 + 0.5 * fn)
    band = (yy >= top) & (yy <= bottom) & (lab != V["clouds"])
    for name in ("hill", "mountain", "sky"):
        if name in want:  # asked for too: the fog leaves it visible
            band &= lab != V[name]
    lab[band] = V["fog"]


def _water(rng, cv: Canvas, want, desert: bool) -> None:
    """One big water body (sea, lake or river; each one asked for), now and then a pond."""
    lab, yy, xx, depth = cv.labels, cv.yy, cv.xx, cv.depth
    h, w = lab.shape
    asked = [m for m in ("sea", "lake", "river") if m in want]
    if "bridge" in want and "river" not in asked:
        asked.append("river")
    if asked:
        kinds = asked
    else:
        r = rng.random()
        kind = "sea" if r < 0.22 else "lake" if r < 0.42 else "river" if r < 0.62 else None
        if desert and kind == "river":
            kind = None
        if "water" in want and kind == "sea":  # the pond asked for needs land around it
            kind = "lake"
        if "sand" in want and kind is None and not desert:  # sand asked for: a beach
            kind = "sea"
        kinds = [kind] if kind else []
    cv.style["water"] = kinds[0] if kinds else None
    taken = np.zeros((h, w), dtype=bool)  # water drawn so far: later bodies flow around it
    for kind in kinds:
        taken |= _water_body(rng, cv, kind, want, taken)
    if _chance(rng, 0.14, "water" in want) and (kinds[:1] != ["sea"] or "water" in want):
        cx, cy = w * rng.uniform(0.2, 0.8), rng.uniform(0.45, 0.85)
        rx = w * rng.uniform(0.12, 0.3) * (1.3 if "water" in want else 1.0)
        wob = noise.fbm(rng, h, w, (4, 4), 3)
        d = ((xx - cx) / rx) ** 2 + ((depth - cy) / (0.08 + cy * 0.12)) ** 2
        ground = yy >= cv.gline[None, :]
        lab[ground & (d + (wob - 0.5) * 0.6 < 1.0) & (lab != V["sea"])] = V["water"]


def _water_body(rng, cv: Canvas, kind: str, want, taken: np.ndarray) -> np.ndarray:
    """Draw a sea, lake or river on the ground outside `taken`; returns its mask."""
    lab, yy, xx, depth = cv.labels, cv.yy, cv.xx, cv.depth
    h, w = lab.shape
    ground = (yy >= cv.gline[None, :]) & ~taken
    after_sea = bool(taken.any())
    if kind == "sea":
        shore = rng.uniform(0.15, 0.55) + (noise.line(rng, w, 3, 4) - 0.5) * 0.2
        sea = ground & (depth < shore[None, :])
        beach = ground & ~sea & (depth < shore[None, :] + rng.uniform(0.06, 0.25))
        lab[beach] = V["sand"]
        lab[sea] = V["sea"]
        cv.style["surface"] = float(cv.horizon)
        return sea
    if kind == "lake":
        cy = rng.uniform(0.08, 0.45)
        if after_sea:  # inland, below the water already there
            rows = np.nonzero(taken.any(axis=1))[0]
            cy = max(cy, float(depth[rows[-1], 0]) + 0.25)
        cx = w * rng.uniform(0.25, 0.75)
        rx = w * rng.uniform(0.25, 0.5)
        ry = rng.uniform(0.08, 0.22) + cy * 0.3
        wob = noise.fbm(rng, h, w, (3, 4), 3)
        d = ((xx - cx) / rx) ** 2 + ((depth - cy) / ry) ** 2
        lake = ground & (d + (wob - 0.5) * 0.8 < 1.0)
        if "sand" in want or rng.random() < 0.4:
            lab[ground & ~lake & (d + (wob - 0.5) * 0.8 < 1.25)] = V["sand"]
        lab[lake] = V["lake"]
        rows = np.nonzero(lake.any(axis=1))[0]
        if not after_sea:
            cv.style["surface"] = float(rows[0]) if len(rows) else float(cv.horizon)
        return lake
    x_far = w * rng.uniform(0.2, 0.8)
    x_near = w * rng.uniform(0.1, 0.9)
    meander = (noise.line(rng, h, 3, 3) - 0.5)[:, None] * w * 0.5
    t = depth
    centre = x_far + (x_near - x_far) * t + meander * t
    half = 1.0 + w * rng.uniform(0.06, 0.16) * (0.08 + t) * (1.5 if "river" in want else 1.0)
    river = ground & (np.abs(xx - centre) < half)
    if "sand" in want:  # asked for: sandy banks
        lab[ground & (np.abs(xx - centre) < half * 1.8 + 1)] = V["sand"]
    lab[river] = V["river"]
    cv.style["surface"] = float(cv.horizon)
    cv.river = (centre, half)
    return river
