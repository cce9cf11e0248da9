"""Painting of each Landscape material for synthetic scenes: sky, clouds, land, objects, haze,
water. Colours are float32 RGB 0..255; every fill is modulated by noise at several scales."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.engine.starter import noise


def _c(*rgb) -> np.ndarray:
    return np.array(rgb, dtype=np.float32)


_LUM = {"day": 1.0, "golden hour": 0.85, "sunset": 0.6, "night": 0.15}
_SKY = {  # zenith, horizon, light multiplier, sun glow (None: no visible sun)
    "day": (_c(55, 110, 210), _c(170, 205, 238), _c(1.0, 1.0, 1.0), None),
    "golden hour": (_c(80, 115, 190), _c(246, 196, 130), _c(1.08, 0.9, 0.7), _c(255, 200, 120)),
    "sunset": (_c(45, 45, 112), _c(250, 112, 55), _c(0.85, 0.55, 0.45), _c(255, 140, 60)),
    "night": (_c(6, 10, 30), _c(30, 42, 78), _c(0.26, 0.3, 0.46), None),
}
_CLOUD = {  # lit, shadow
    "day": (_c(250, 250, 252), _c(170, 176, 192)),
    "golden hour": (_c(255, 226, 172), _c(150, 128, 138)),
    "sunset": (_c(250, 150, 110), _c(90, 58, 90)),
    "night": (_c(48, 54, 74), _c(18, 20, 32)),
}


@dataclass
class Light:
    """The time-of-day and weather palette of one scene."""

    zenith: np.ndarray
    horizon: np.ndarray
    light: np.ndarray  # per-channel multiplier for lit surfaces
    glow: np.ndarray | None
    cloud_lit: np.ndarray
    cloud_dark: np.ndarray
    haze: float  # 0..1 blend toward the horizon colour at the horizon
    night: bool
    clear: bool


def lighting(time: str, weather: str) -> Light:
    zen, hor, light, glow = (x if x is None else x.copy() for x in _SKY[time])
    lit, dark = (x.copy() for x in _CLOUD[time])
    lum = _LUM[time]
    haze = 0.35
    if weather == "cloudy":
        grey = _c(150, 156, 166) * lum
        zen, hor = zen * 0.35 + grey * 0.65, hor * 0.45 + grey * 0.55
        light = light * 0.75
        lit, dark = lit * 0.8 + grey * 0.2, dark * 0.8
        glow = None if glow is None else glow * 0.4
        haze = 0.45
    elif weather == "foggy":
        grey = _c(192, 194, 202) * max(lum, 0.2)
        zen, hor = zen * 0.25 + grey * 0.75, hor * 0.2 + grey * 0.8
        light = light * 0.85
        lit, dark = lit * 0.6 + grey * 0.4, dark * 0.6 + grey * 0.4
        glow = None if glow is None else glow * 0.5
        haze = 0.8
    return Light(zen, hor, light, glow, lit, dark, haze, time == "night", weather == "clear")


class Textures:
    """Shared noise fields for one scene (computed once, reused by every material)."""

    def __init__(self, rng: np.random.Generator, h: int, w: int) -> None:
        self.rng, self.h, self.w = rng, h, w
        self.lo = noise.fbm(rng, h, w, (3, 3), 3)  # broad tone changes
        self.mid = noise.fbm(rng, h, w, (12, 12), 3)  # patches
        self.hi = noise.value(rng, h, w, h // 4, w // 4)  # clumps, ~4 px
        self.fine = rng.random((h, w), dtype=np.float32)  # per-pixel grain
        self.blades = noise.value(rng, h, w, h // 6, w // 2)  # vertical streaks
        self.ripple = noise.value(rng, h, w, h // 3, max(2, w // 24))  # horizontal streaks

    def mix(self, a: float = 0.5, b: float = 0.35, c: float = 0.15) -> np.ndarray:
        return a * self.lo + b * self.mid + c * self.hi


def _fill(img, m, c0, c1, k, shade) -> None:
    """img[m] = lerp(c0, c1, k) * shade, k and shade (h, w) fields."""
    if not m.any():
        return
    kk, ss = k[m][:, None], shade[m][:, None]
    img[m] = (c0 * (1 - kk) + c1 * kk) * ss


def sky(rng, h, w, horizon, L: Light, tex: Textures) -> np.ndarray:
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    t = np.clip(yy / max(horizon, 1.0), 0, 1.0)[..., None] ** 0.8
    out = L.zenith * (1 - t) + L.horizon * t + ((tex.lo - 0.5) * 10)[..., None]
    out = np.broadcast_to(out, (h, w, 3)).copy()
    if L.glow is not None:
        sx, sy = w * rng.uniform(0.15, 0.85), horizon - h * rng.uniform(0.02, 0.15)
        d2 = ((xx - sx) ** 2 + (yy - sy) ** 2) / (h * 0.22) ** 2
        glow = np.exp(-d2)[..., None]
        out = out * (1 - 0.6 * glow) + L.glow * 0.6 * glow
        sun = (d2 < 0.004)[..., None]
        out = np.where(sun & (yy < horizon)[..., None], _c(255, 240, 200), out)
    if L.night and L.clear:
        stars = (tex.fine > 0.996) & (yy < horizon * 0.9)
        out[stars] += rng.uniform(80, 200, int(stars.sum()))[:, None].astype(np.float32)
        mx, my, r = w * rng.uniform(0.1, 0.9), horizon * rng.uniform(0.15, 0.6), h * 0.025
        moon = (xx - mx) ** 2 + (yy - my) ** 2 < r * r
        out[moon] = _c(225, 225, 210)
    return out


def clouds(img, m, L: Light, tex: Textures) -> None:
    if not m.any():
        return
    alpha = noise.box_blur(m, 2) * m
    b = noise.box_blur(m, 3)
    above = np.roll(b, 5, axis=0)  # cloud density 5 px higher up
    shade = np.clip(0.35 + 0.45 * tex.mid + 0.5 * (1 - above), 0, 1)[..., None]
    col = L.cloud_dark * (1 - shade) + L.cloud_lit * shade
    a = (0.92 * alpha)[..., None]
    img[:] = img * (1 - a) + col * a


def _slope(field: np.ndarray, k: float) -> np.ndarray:
    """Light from the upper left on a height field: 1 +- k * gradient."""
    gx = np.zeros_like(field)
    gx[:, 1:] = field[:, 1:] - field[:, :-1]
    gy = np.zeros_like(field)
    gy[1:] = field[1:] - field[:-1]
    return np.clip(1.0 - k * (gx + 0.5 * gy) * field.shape[1], 0.45, 1.4)


def land(img, masks, L: Light, tex: Textures, depth, season, layout) -> None:
    h, w = depth.shape
    rng = tex.rng
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    horizon = float(layout.get("horizon", h * 0.45))
    height = tex.lo * 2.0 + tex.mid * 0.6 + (1 - np.abs(tex.hi * 2 - 1)) * 0.15
    relief = _slope(height, 0.35)
    tone = 0.85 + 0.3 * tex.mix()
    autumn, winter = season == "autumn", season == "winter"
    # Distant ranges and hills.
    _fill(img, masks["mountain"], _c(92, 102, 124), _c(132, 120, 112), tex.mid, relief * tone)
    hill = (_c(140, 118, 60), _c(165, 100, 50)) if autumn else (_c(80, 122, 58), _c(112, 142, 70))
    if winter:
        hill = (_c(118, 116, 96), _c(140, 132, 110))
    _fill(img, masks["hill"], *hill, tex.lo, relief * tone)
    # Grass: broad tone + vertical blade streaks, stronger near the viewer.
    blade = 0.8 + (tex.blades - 0.5) * (0.2 + 0.6 * depth) + (tex.hi - 0.5) * 0.2
    grass = {
        "summer": (_c(66, 130, 42), _c(112, 162, 58)),
        "autumn": (_c(146, 132, 58), _c(118, 104, 48)),
        "winter": (_c(104, 108, 74), _c(132, 126, 96)),
    }[season]
    _fill(img, masks["grass"], *grass, tex.lo, blade * tone)
    # Fields: crop rows converging to a vanishing point.
    vx = w * rng.uniform(0.2, 0.8)
    u = (xx - vx) / np.maximum(yy - horizon + 3, 3) * (h - horizon)
    rows = 0.5 + 0.5 * np.sin(u * rng.uniform(0.08, 0.2) + tex.lo * 8)
    crops = [
        (_c(205, 172, 80), _c(170, 135, 60)),
        (_c(110, 160, 58), _c(80, 125, 45)),
        (_c(120, 90, 62), _c(92, 68, 48)),
    ]
    crop = crops[int(rng.integers(0 if not autumn else 0, 3 if not winter else 3))]
    if autumn:
        crop = crops[0] if rng.random() < 0.6 else crops[2]
    _fill(img, masks["field"], *crop, rows, tone * (0.9 + 0.2 * tex.hi))
    # Flowers: grass with dense petal clumps in two colours.
    fm = masks["flower"]
    if fm.any():
        _fill(img, fm, *grass, tex.lo, blade * tone)
        palette = [
            _c(230, 40, 50),
            _c(245, 215, 40),
            _c(245, 245, 240),
            _c(170, 80, 200),
            _c(250, 130, 30),
            _c(240, 120, 170),
        ]
        a, b = rng.choice(len(palette), 2, replace=False)
        petals = fm & (tex.hi > 0.5) & (tex.fine > 0.25)
        pick = tex.mid[petals] > 0.5
        col = (
            np.where(pick[:, None], palette[a], palette[b])
            * (0.8 + 0.3 * tex.fine[petals])[:, None]
        )
        img[petals] = col
    wave = 0.92 + 0.08 * np.sin(yy * 0.9 + xx * 0.15 + tex.lo * 12)
    _fill(img, masks["sand"], _c(216, 196, 146), _c(188, 164, 116), tex.mid, wave * tone)
    pebbles = 1.0 - 0.35 * (tex.fine > 0.92)
    _fill(img, masks["dirt"], _c(126, 96, 66), _c(98, 74, 50), tex.mid, pebbles * tone)
    snow_shade = np.clip(0.86 + 0.14 * relief + (tex.mid - 0.5) * 0.12, 0.7, 1.08)
    _fill(img, masks["snow"], _c(205, 214, 236), _c(246, 248, 252), tex.lo, snow_shade)
    cracks = 1.0 - 0.45 * (np.abs(tex.mid - 0.5) < 0.025) - 0.25 * (np.abs(tex.hi - 0.5) < 0.04)
    _fill(img, masks["rock"], _c(128, 122, 116), _c(92, 88, 86), tex.hi, relief * cracks * tone)
    grit = 0.9 + 0.2 * tex.fine
    _fill(img, masks["road"], _c(82, 82, 88), _c(100, 98, 100), tex.lo, grit)
    _fill(img, masks["path"], _c(178, 152, 112), _c(148, 124, 90), tex.mid, grit * tone)
