"""Objects stamped into a layout label map: roads, paths, bridges, waterfalls, boulders, bushes,
trees (single and forest edges), houses and buildings. Nearer objects are drawn last."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from studio.engine.starter import noise
from studio.engine.starter.vocab import MATERIALS

V = {name: i + 1 for i, name in enumerate(MATERIALS)}
_STANDABLE = (V["grass"], V["field"], V["dirt"], V["sand"], V["flower"], V["snow"], V["hill"])
_WATER = (V["water"], V["sea"], V["river"], V["lake"], V["waterfall"])


@dataclass
class Canvas:
    """The label map being drawn and the scene geometry (rows, depth 0 = horizon, 1 = bottom)."""

    labels: np.ndarray  # HxW uint16
    yy: np.ndarray  # (H, 1) float32 row
    xx: np.ndarray  # (1, W) float32 column
    depth: np.ndarray  # HxW float32, 0 at the horizon .. 1 at the bottom row
    horizon: float
    gline: np.ndarray  # (W,) ground line row per column
    style: dict
    river: tuple | None = None  # (centre HxW, half width HxW) of a river
    objects: list = field(default_factory=list)


def _row_at(cv: Canvas, t: float) -> float:
    h = cv.labels.shape[0]
    return cv.horizon + t * (h - cv.horizon)


def _stamp(cv: Canvas, y0: float, y1: float, x0: float, x1: float, fn, value: int) -> None:
    """Set `value` where fn(yy, xx) (local box coordinates) is true inside the box."""
    h, w = cv.labels.shape
    a, b = max(0, int(np.floor(y0))), min(h, int(np.ceil(y1)) + 1)
    c, d = max(0, int(np.floor(x0))), min(w, int(np.ceil(x1)) + 1)
    if a >= b or c >= d:
        return
    ys = np.arange(a, b, dtype=np.float32)[:, None]
    xs = np.arange(c, d, dtype=np.float32)[None, :]
    mask = np.broadcast_to(fn(ys, xs), (b - a, d - c))
    cv.labels[a:b, c:d][mask] = value


def place_objects(rng: np.random.Generator, cv: Canvas, want, winter: bool) -> None:
    """Roads and paths, then waterfall, forest edge, and depth-sorted trees/bushes/rocks/houses."""
    lab = cv.labels
    h, w = lab.shape
    for kind, p, width in (("road", 0.18, 0.2), ("path", 0.22, 0.08)):
        if kind in want or rng.random() < p:
            _road(rng, cv, kind, width * (1.3 if kind in want else 1.0))
    if cv.river is not None and ("bridge" in want or rng.random() < 0.45):
        centre, half = cv.river
        t = rng.uniform(0.2, 0.7)
        r = int(_row_at(cv, t))
        rows = np.nonzero((lab == V["river"]).any(axis=1))[0]
        if "bridge" in want and len(rows):  # asked for: where the river is in the picture
            r = int(rows[len(rows) * 2 // 3])
            t = (r - cv.horizon) / max(1.0, h - cv.horizon)
        thick = max(2.0, (h - cv.horizon) * (0.03 + 0.05 * t)) * (1.6 if "bridge" in want else 1)
        band = (cv.yy >= r - thick) & (cv.yy <= r + thick * 0.4)
        span = np.abs(cv.xx - centre) < half * 1.5 + 3
        lab[band & span & (cv.yy > cv.gline[None, :])] = V["bridge"]
    if "waterfall" in want or rng.random() < 0.08:
        _waterfall(rng, cv)
    if "tree" in want or rng.random() < 0.4:
        _forest_edge(rng, cv)
    items = []
    n_tree = rng.integers(3, 9) if "tree" in want else rng.integers(0, 6)
    n_bush = rng.integers(5, 12) if "bush" in want else rng.integers(0, 7)
    n_rock = rng.integers(2, 5) if "rock" in want else rng.integers(0, 3)
    n_house = rng.integers(1, 3) if "house" in want else int(rng.random() < 0.16)
    for kind, n in (("tree", n_tree), ("bush", n_bush), ("rock", n_rock), ("house", n_house)):
        for _ in range(int(n)):
            items.append((float(rng.uniform(0.03, 1.0) ** 0.8), kind, float(rng.uniform(0, w))))
    if "building" in want or rng.random() < 0.08:
        _town(rng, cv, 1.5 if "building" in want else 1.0)
    conifer_p = 0.7 if winter else 0.35
    if "house" in want:  # asked for: near enough to be seen
        items = [(max(t, 0.45), k, x) if k == "house" else (t, k, x) for t, k, x in items]
    for t, kind, x in sorted(items):
        base = _row_at(cv, t)
        col = int(np.clip(x, 0, w - 1))
        row = int(np.clip(base, 0, h - 1))
        if kind in want:  # asked for: move along the row to the nearest ground it can stand on
            ok = np.nonzero(np.isin(lab[row], _STANDABLE))[0]
            if len(ok):
                col = int(ok[np.argmin(np.abs(ok - col))])
                x = float(col)
        at = lab[row, col]
        if at not in _STANDABLE and not (kind == "rock" and at in _WATER):
            continue
        s = (h - cv.horizon) * 0.1 + h * 0.5 * t
        if kind == "tree":
            _tree(rng, cv, x, base, s * rng.uniform(0.7, 1.3), rng.random() < conifer_p)
        elif kind == "bush":
            _blob(rng, cv, x, base, s * rng.uniform(0.12, 0.22), 0.65, V["bush"])
        elif kind == "rock":
            _blob(rng, cv, x, base, s * rng.uniform(0.08, 0.2), 0.6, V["rock"])
        else:
            _house(rng, cv, x, base, s * rng.uniform(0.25, 0.4))
    cv.style["objects"] = cv.objects


def _road(rng, cv: Canvas, kind: str, width: float) -> None:
    h, w = cv.labels.shape
    x_far = w * rng.uniform(0.3, 0.7)
    x_near = w * rng.uniform(-0.1, 1.1)
    t = cv.depth
    bend = (noise.line(rng, h, 2, 2) - 0.5)[:, None] * w * 0.6
    centre = x_far + (x_near - x_far) * t**1.5 + bend * t * (1 - t)
    half = 0.7 + w * width * 0.5 * t
    on = (np.abs(cv.xx - centre) < half) & (cv.yy > cv.gline[None, :] + 1)
    on &= ~np.isin(cv.labels, (V["sea"], V["lake"], V["water"]))
    over_river = on & (cv.labels == V["river"])
    cv.labels[on] = V[kind]
    cv.labels[over_river] = V["bridge"] if kind == "road" else V["river"]
    cv.style[kind] = True


def _waterfall(rng, cv: Canvas) -> None:
    h, w = cv.labels.shape
    cx = w * rng.uniform(0.25, 0.75)
    top = cv.horizon - h * rng.uniform(0.12, 0.25)
    bottom = _row_at(cv, rng.uniform(0.2, 0.4))
    cw, fw = w * rng.uniform(0.15, 0.3), w * rng.uniform(0.03, 0.07)
    edge = noise.line(rng, h, 6, 3)[:, None] * cw * 0.4
    _stamp(
        cv,
        top,
        bottom,
        cx - cw * 1.4,
        cx + cw * 1.4,
        lambda y, x: np.abs(x - cx) < cw + edge[y.astype(int)[:, 0]] - 0.15 * cw,
        V["rock"],
    )
    _stamp(cv, top + 2, bottom, cx - fw, cx + fw, lambda y, x: np.abs(x - cx) <= fw, V["waterfall"])
    pool_h = (h - bottom) * 0.15 + 2
    _stamp(
        cv,
        bottom - 1,
        bottom + pool_h,
        cx - fw * 4,
        cx + fw * 4,
        lambda y, x: ((x - cx) / (fw * 4)) ** 2 + ((y - bottom) / pool_h) ** 2 < 1,
        V["water"],
    )
    cv.objects.append({"kind": "waterfall", "box": [top, cx - cw * 1.4, bottom, cx + cw * 1.4]})


def _forest_edge(rng, cv: Canvas) -> None:
    """A tree line standing on the ground line over part (or all) of the width."""
    h, w = cv.labels.shape
    height = h * rng.uniform(0.03, 0.1)
    x0, x1 = sorted(rng.uniform(-0.3, 1.3, 2) * w)
    if x1 - x0 < w * 0.3:
        x0, x1 = x0 - w * 0.2, x1 + w * 0.2
    period = max(2.0, w * rng.uniform(0.015, 0.04))
    xs = np.arange(w, dtype=np.float32)
    if rng.random() < 0.5:  # spiky conifer tops
        bumps = 1 - np.abs(((xs / period) % 1.0) * 2 - 1)
    else:  # rounded crowns
        bumps = np.sqrt(np.clip(np.sin(np.pi * xs / period) ** 2, 0, 1))
    vary = noise.line(rng, w, 8, 3)
    top = cv.gline - height * (0.4 + 0.4 * bumps + 0.5 * vary)
    inside = (xs >= x0) & (xs <= x1)
    bottom = cv.gline + h * 0.01
    m = (cv.yy >= top[None, :]) & (cv.yy <= bottom[None, :]) & inside[None, :]
    m &= ~np.isin(cv.labels, _WATER)
    cv.labels[m] = V["tree"]
    cv.objects.append(
        {"kind": "forest", "box": [float(top.min()), float(x0), float(bottom.max()), float(x1)]}
    )


def _tree(rng, cv: Canvas, x: float, base: float, size: float, conifer: bool) -> None:
    trunk_w = max(1.0, size * 0.05)
    if conifer:
        top, bot = base - size, base - size * 0.12
        half = size * rng.uniform(0.2, 0.3)
        teeth = rng.uniform(4, 7)

        def crown(y, xs):
            f = np.clip((y - top) / (bot - top), 0, 1)
            saw = 0.65 + 0.35 * ((f * teeth) % 1.0)
            return (np.abs(xs - x) < half * f * saw + 0.5) & (y <= bot)

        _stamp(cv, top, bot, x - half, x + half, crown, V["tree"])
    else:
        cy, ry, rx = base - size * 0.62, size * 0.36, size * rng.uniform(0.25, 0.36)
        top = cy - ry
        _blob(rng, cv, x, cy, rx, ry / rx, V["tree"], full=True)
    _stamp(
        cv,
        base - size * 0.4,
        base,
        x - trunk_w,
        x + trunk_w,
        lambda y, xs: np.abs(xs - x) <= trunk_w,
        V["tree"],
    )
    cv.objects.append(
        {
            "kind": "tree",
            "conifer": bool(conifer),
            "box": [top, x - size * 0.4, base, x + size * 0.4],
        }
    )


def _blob(rng, cv, x, base, rx, squash, value, full=False) -> None:
    """A noisy ellipse centred on (x, base); `full` = whole, otherwise sunk into the ground."""
    rx = max(1.5, rx)
    ry = rx * squash
    bump = rng.random((4, 9), dtype=np.float32)

    def fn(y, xs):
        ang = np.arctan2(y - base, xs - x)
        k = ((ang + np.pi) / (2 * np.pi) * 8).astype(int) % 8
        r = 0.8 + 0.35 * bump[0][k]
        inside = ((xs - x) / rx) ** 2 + ((y - base) / ry) ** 2 < r * r
        return inside if full else inside & (y <= base + ry * 0.25)

    _stamp(cv, base - ry * 1.2, base + ry * 1.2, x - rx * 1.2, x + rx * 1.2, fn, value)
    kind = {V["bush"]: "bush", V["rock"]: "rock"}.get(value, "crown")
    if kind != "crown":
        cv.objects.append({"kind": kind, "box": [base - ry, x - rx, base + ry * 0.25, x + rx]})


def _house(rng, cv, x, base, s) -> None:
    wall_w, wall_h = s * rng.uniform(1.0, 1.6), s * rng.uniform(0.6, 0.9)
    roof_h = s * rng.uniform(0.35, 0.6)
    x0, x1, top = x - wall_w / 2, x + wall_w / 2, base - wall_h
    _stamp(cv, top, base, x0, x1, lambda y, xs: (xs >= x0) & (xs <= x1), V["house"])

    def roof(y, xs):
        f = np.clip((y - (top - roof_h)) / roof_h, 0, 1)
        return np.abs(xs - x) <= (wall_w / 2 + s * 0.08) * f

    _stamp(cv, top - roof_h, top, x0 - s * 0.1, x1 + s * 0.1, roof, V["house"])
    cv.objects.append({"kind": "house", "box": [top - roof_h, x0, base, x1], "roof": top})


def _town(rng, cv, scale) -> None:
    """A few blocky buildings standing on the horizon."""
    h, w = cv.labels.shape
    x = w * rng.uniform(0.0, 0.6)
    for _ in range(int(rng.integers(3, 9))):
        bw = w * rng.uniform(0.03, 0.08) * scale
        bh = h * rng.uniform(0.04, 0.15) * scale
        g = float(cv.gline[int(np.clip(x, 0, w - 1))]) + 1
        x0, x1 = x, x + bw
        _stamp(
            cv, g - bh, g, x0, x1, lambda y, xs, a=x0, b=x1: (xs >= a) & (xs <= b), V["building"]
        )
        cv.objects.append({"kind": "building", "box": [g - bh, x0, g, x1]})
        x += bw * rng.uniform(0.8, 1.3)
