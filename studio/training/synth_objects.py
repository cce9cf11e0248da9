"""Painting of synthetic-scene objects (trees, bushes, houses, buildings, bridges, waterfalls),
then haze, lighting and water that mirrors what stands above the horizon, with ripples."""

from __future__ import annotations

import numpy as np

from studio.engine.starter import noise
from studio.engine.starter.layout import V
from studio.training.synth_paint import Light, Textures, _c, _fill

_FOLIAGE = {
    "summer": [_c(42, 92, 36), _c(58, 110, 40), _c(34, 78, 40)],
    "autumn": [_c(196, 92, 30), _c(210, 156, 42), _c(156, 52, 30), _c(120, 110, 40)],
    "winter": [_c(96, 80, 68), _c(110, 96, 82)],  # bare branches
}
_OWN = {  # the labels an object is made of (for the depth of its base)
    "tree": (V["tree"],),
    "forest": (V["tree"],),
    "bush": (V["bush"],),
    "rock": (V["rock"],),
    "house": (V["house"],),
    "building": (V["building"],),
    "waterfall": (V["waterfall"], V["rock"], V["water"]),
}
_CONIFER = {"summer": _c(30, 72, 42), "autumn": _c(34, 70, 44), "winter": _c(30, 58, 44)}


def _box(obj, h, w):
    y0, x0, y1, x1 = obj["box"]
    a, b = int(max(0, np.floor(y0))), int(min(h, np.ceil(y1) + 1))
    c, d = int(max(0, np.floor(x0))), int(min(w, np.ceil(x1) + 1))
    return a, b, c, d, float(y0), float(y1), float(x0), float(x1)


def objects(img, labels, masks, L: Light, tex: Textures, season, layout, time) -> None:
    h, w = labels.shape
    rng = tex.rng
    # Leaf clumps: light from the upper left within each crown, dark gaps between clumps.
    leaf = 0.55 + 0.6 * tex.hi * (0.7 + 0.3 * tex.fine)
    tree, bush = masks["tree"], masks["bush"]
    forest = _FOLIAGE[season][int(rng.integers(len(_FOLIAGE[season])))]
    if season == "winter" or rng.random() < 0.5:
        forest = _CONIFER[season]
    _fill(img, tree, forest * 0.85, forest * 1.1, tex.mid, leaf)
    bush_col = {"summer": _c(56, 98, 40), "autumn": _c(150, 86, 40), "winter": _c(98, 84, 64)}
    _fill(img, bush, bush_col[season] * 0.8, bush_col[season] * 1.15, tex.lo, leaf)
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    for obj in layout.get("objects", ()):
        kind = obj["kind"]
        a, b, c, d, y0, y1, x0, x1 = _box(obj, h, w)
        if a >= b or c >= d:
            continue
        sub = (slice(a, b), slice(c, d))
        fy = np.clip((yy[a:b] - y0) / max(1.0, y1 - y0), 0, 1)
        fx = np.clip((xx[:, c:d] - x0) / max(1.0, x1 - x0), 0, 1)
        lit = 1.2 - 0.45 * fy - 0.25 * fx  # (bh, bw) light from the upper left
        if kind == "tree":
            m = tree[sub]
            if obj["conifer"]:
                col = _CONIFER[season]
            else:
                options = _FOLIAGE[season]
                col = options[int(rng.integers(len(options)))]
            k = leaf[sub][m][:, None] * lit[m][:, None]
            img[sub][m] = col * k
            if season == "winter":
                flakes = m & (tex.hi[sub] > 0.62) & (fy < 0.8)
                img[sub][flakes] = (
                    _c(236, 240, 250) * (0.85 + 0.15 * tex.fine[sub][flakes])[:, None]
                )
        elif kind in ("bush", "rock"):
            m = masks[kind][sub]
            img[sub][m] *= np.clip(lit[m], 0.6, 1.3)[:, None]
        elif kind == "house":
            m = masks["house"][sub]
            roof = m & (yy[a:b] < obj["roof"])
            wall = m & ~roof
            walls = [_c(214, 194, 160), _c(184, 96, 74), _c(232, 230, 220), _c(170, 150, 120)]
            wc = walls[int(rng.integers(len(walls)))]
            rc = [_c(146, 58, 42), _c(82, 74, 76), _c(110, 70, 50)][int(rng.integers(3))]
            img[sub][wall] = wc * (0.85 + 0.15 * tex.hi[sub][wall])[:, None]
            img[sub][roof] = rc * (0.8 + 0.3 * tex.hi[sub][roof] * lit[roof])[:, None]
            fwin = (fx * 5 % 1.0 > 0.35) & (fx * 5 % 1.0 < 0.7) & (fy > 0.62) & (fy < 0.8)
            win = wall & fwin & (fx > 0.15) & (fx < 0.85)
            img[sub][win] = _c(250, 210, 110) if time == "night" else _c(60, 70, 90)
        elif kind == "building":
            m = masks["building"][sub]
            base = [_c(150, 142, 132), _c(120, 118, 122), _c(176, 160, 138)][int(rng.integers(3))]
            img[sub][m] = base * (0.85 + 0.2 * tex.hi[sub][m] * lit[m])[:, None]
            gy = (yy[a:b] - y0) % 5 < 2
            gx = (xx[:, c:d] - x0) % 4 < 2
            win = m & gy & gx & (fy > 0.08)
            if time == "night":
                on = win & (tex.fine[sub] > 0.45)
                img[sub][win] = _c(40, 40, 50)
                img[sub][on] = _c(255, 214, 120)
            else:
                img[sub][win] *= 0.6
        elif kind == "waterfall":
            m = masks["waterfall"][sub]
            streak = noise.value(rng, b - a, d - c, max(1, (b - a) // 12), max(2, (d - c) // 2))
            img[sub][m] = _c(218, 232, 242) * (0.72 + 0.35 * streak[m])[:, None]
    bm = masks["bridge"]
    if bm.any():
        under = np.roll(bm, -3, axis=0) & ~np.roll(bm, 3, axis=0)  # lower edge rows
        shade = (0.9 + 0.2 * tex.hi) * np.where(under, 0.6, 1.0)
        _fill(img, bm, _c(146, 124, 102), _c(120, 104, 90), tex.mid, shade)


def atmosphere(img, labels, masks, L: Light, depth, horizon, layout) -> None:
    """Lit surfaces get the time's light; distance fades toward the horizon colour."""
    h, w = labels.shape
    depth = depth.copy()  # objects standing on the ground take the depth of their base
    for obj in layout.get("objects", ()):
        a, b, c, d, _, y1, _, _ = _box(obj, h, w)
        own = np.isin(labels[a:b, c:d], _OWN.get(obj["kind"], ()))
        if own.any():
            base = np.clip((y1 - horizon) / max(1.0, h - horizon), 0, 1)
            depth[a:b, c:d][own] = np.maximum(depth[a:b, c:d][own], base)
    solid = ~(masks["sky"] | masks["clouds"])
    img[solid] *= L.light
    yy = np.arange(h, dtype=np.float32)[:, None]
    above = np.clip((horizon - yy) / max(horizon, 1.0), 0, 1)  # 0 at horizon, 1 at top
    far = masks["mountain"] | (masks["snow"] & (yy < horizon)) | masks["building"]
    haze = np.where(far, L.haze * (0.9 - 0.5 * above), L.haze * (1 - depth) ** 3)
    haze = np.where(masks["hill"], L.haze * 0.7, haze)
    haze = (haze * solid)[..., None]
    img[:] = img * (1 - haze) + L.horizon * haze
    fm = masks["fog"]
    if fm.any():
        soft = noise.box_blur(fm, 3)[..., None] * 0.9
        fog_col = L.horizon * 0.7 + _c(200, 202, 210) * 0.3 * max(0.2, float(L.light.mean()))
        img[:] = np.where(fm[..., None], img * (1 - soft) + fog_col * soft, img)


def water(img, masks, L: Light, tex: Textures, depth, horizon, layout) -> None:
    """Water mirrors the picture about the horizon, broken by ripples; deep colour below."""
    wm = masks["sea"] | masks["lake"] | masks["river"] | masks["water"]
    if not wm.any():
        return
    h, w = wm.shape
    ys, xs = np.nonzero(wm)
    rip = tex.ripple[ys, xs]
    d = depth[ys, xs]
    hz = int(np.clip(round(horizon), 1, h - 1))
    ry = np.clip(2 * hz - ys + ((rip - 0.5) * 6 * (0.3 + d)).astype(int), 0, hz - 1)
    rx = np.clip(xs + ((tex.ripple[ys, (xs + 7) % w] - 0.5) * 10 * d).astype(int), 0, w - 1)
    mirror = img[ry, rx]
    deep = (
        np.where(
            masks["river"][ys, xs][:, None],
            _c(48, 76, 68),
            np.where(masks["sea"][ys, xs][:, None], _c(18, 52, 92), _c(26, 60, 76)),
        )
        * L.light
    )
    k = (0.82 - 0.45 * d)[:, None]
    col = mirror * k + deep * (1 - k)
    col *= (0.86 + 0.28 * rip)[:, None]
    if not L.night:
        glint = (tex.fine[ys, xs] > 0.992) & (d < 0.5)
        col[glint] = col[glint] * 0.4 + 240 * 0.6
    img[ys, xs] = col
