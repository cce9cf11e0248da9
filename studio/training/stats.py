"""Dataset statistics and a contact sheet: per-class pixel shares (which classes are rare) and a
grid of pictures over their colour-coded label maps, for looking at a paired dataset."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from studio.training.dataset import PairedDataset


def class_shares(
    ds: PairedDataset,
    ids: Iterable[str] | None = None,
    classes: int = 25,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(pixel share per value (classes,), share of pairs holding the value (classes,), pairs)."""
    from studio.training.dataset import read_labels_png

    ids = list(ds.ids if ids is None else ids)
    pixels = np.zeros(classes, dtype=np.int64)
    present = np.zeros(classes, dtype=np.int64)
    for n, pair_id in enumerate(ids, 1):
        labels = read_labels_png(ds.root / "labels" / f"{pair_id}.png")
        counts = np.bincount(np.minimum(labels.ravel(), classes - 1), minlength=classes)
        pixels += counts
        present += counts > 0
        if progress is not None:
            progress(n, len(ids))
    total = max(1, int(pixels.sum()))
    return pixels / total, present / max(1, len(ids)), len(ids)


def share_table(pixel_share: np.ndarray, presence: np.ndarray, names: dict[int, str]) -> str:
    """A plain-text table, rarest class last: value, name, % of pixels, % of pairs."""
    lines = [f"{'value':>5}  {'class':<10} {'% pixels':>9} {'% scenes':>9}"]
    order = sorted(range(len(pixel_share)), key=lambda v: -pixel_share[v])
    for v in order:
        if v == 0 and pixel_share[v] == 0:
            continue
        name = names.get(v, "unlabeled" if v == 0 else f"value {v}")
        lines.append(f"{v:>5}  {name:<10} {100 * pixel_share[v]:>9.3f} {100 * presence[v]:>9.1f}")
    return "\n".join(lines)


def contact_sheet(
    ds: PairedDataset, ids: list[str], colours: np.ndarray, columns: int = 8, tile: int = 128
) -> np.ndarray:
    """HxWx3 uint8 grid: each row of pictures is followed by a row of their label maps.

    colours: (N, 3) uint8 lookup table from label value to display colour."""
    rows = (len(ids) + columns - 1) // columns
    sheet = np.zeros((rows * 2 * tile, columns * tile, 3), dtype=np.uint8)
    for i, pair_id in enumerate(ids):
        pair = ds.load(pair_id)
        r, c = divmod(i, columns)
        picture = _fit(pair.image, tile)
        labels = colours[np.minimum(pair.labels, len(colours) - 1)]
        sheet[2 * r * tile : (2 * r + 1) * tile, c * tile : (c + 1) * tile] = picture
        sheet[(2 * r + 1) * tile : (2 * r + 2) * tile, c * tile : (c + 1) * tile] = _fit(
            labels, tile, nearest=True
        )
    return sheet


def _fit(image: np.ndarray, tile: int, nearest: bool = False) -> np.ndarray:
    from PIL import Image

    resample = Image.Resampling.NEAREST if nearest else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(image).resize((tile, tile), resample))


def landscape_colours() -> tuple[np.ndarray, dict[int, str]]:
    """(256, 3) uint8 display colours of the Landscape palette and {value: name}."""
    from studio.engine.labels import builtin_label_set

    table = np.zeros((256, 3), dtype=np.uint8)
    names = {}
    for cls in builtin_label_set("landscape").classes:
        if cls.rgb is not None:
            table[cls.value] = cls.rgb
        names[cls.value] = cls.name
    return table, names
