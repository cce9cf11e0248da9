"""Label palettes: class ids (layer values) with names and display colours, loaded as data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from studio.errors import StudioError
from studio.resources import RESOURCES

PALETTE_FORMAT = "studio-palette"
PALETTE_FILES = {  # shipped palettes, in menu order
    "Landscape": "landscape.json",
    "ADE20K-150": "ade20k-150.json",
    "COCO-Stuff-182": "cocostuff-182.json",
}
UNLABELED = 0  # layer value of unpainted pixels; shown transparent


@dataclass(frozen=True)
class PaletteEntry:
    """One class: the value stored in label layers, its name, its display colour, cross-walks."""

    value: int
    name: str
    rgb: tuple[int, int, int]
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Palette:
    """An ordered set of classes; value 0 is reserved for 'unlabeled'."""

    name: str
    entries: tuple[PaletteEntry, ...]
    description: str = ""
    _lut: list = field(default_factory=list, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        values = [e.value for e in self.entries]
        if len(set(values)) != len(values):
            raise StudioError(f"Palette {self.name} lists a class value twice.")
        if any(not (1 <= v <= 65535) for v in values):
            raise StudioError(f"Palette {self.name} has a class value outside 1..65535.")

    def entry(self, value: int) -> PaletteEntry | None:
        return self.by_value().get(int(value))

    def by_value(self) -> dict[int, PaletteEntry]:
        return {e.value: e for e in self.entries}

    def lut(self) -> np.ndarray:
        """65536x4 uint8: layer value -> RGBA (unknown values and 0 are transparent)."""
        if not self._lut:
            table = np.zeros((65536, 4), np.uint8)
            for e in self.entries:
                table[e.value] = (*e.rgb, 255)
            self._lut.append(table)
        return self._lut[0]

    def colors_indexed(self) -> np.ndarray:
        """(max_value+1)x3 uint8 colour table for an indexed PNG (index = layer value)."""
        top = max((e.value for e in self.entries), default=0)
        return self.lut()[: top + 1, :3].copy()

    def search(self, text: str) -> list[PaletteEntry]:
        text = text.strip().lower()
        return [e for e in self.entries if text in e.name.lower()] if text else list(self.entries)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PALETTE_FORMAT,
            "version": 1,
            "name": self.name,
            "description": self.description,
            "entries": [
                {"value": e.value, "name": e.name, "rgb": list(e.rgb), **e.extra}
                for e in self.entries
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Palette:
        if data.get("format") != PALETTE_FORMAT:
            raise StudioError("This is not a Studio palette.", f"format={data.get('format')!r}")
        try:
            entries = tuple(
                PaletteEntry(
                    int(e["value"]),
                    str(e["name"]),
                    tuple(int(c) for c in e["rgb"]),
                    {k: v for k, v in e.items() if k not in ("value", "name", "rgb")},
                )
                for e in data["entries"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StudioError("The palette data is damaged.", repr(exc)) from exc
        return cls(str(data.get("name", "palette")), entries, str(data.get("description", "")))


def palettes_dir() -> Path:
    return RESOURCES / "palettes"


@lru_cache(maxsize=8)
def load_palette(name: str) -> Palette:
    """A shipped palette by name (see PALETTE_FILES)."""
    if name not in PALETTE_FILES:
        raise StudioError(f"There is no palette called {name}.", f"known: {list(PALETTE_FILES)}")
    path = palettes_dir() / PALETTE_FILES[name]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StudioError(f"The {name} palette could not be read.", f"{path}: {exc}") from exc
    return Palette.from_dict(data)


@dataclass(frozen=True)
class ColorMapping:
    """Result of mapping a colour-coded image to palette values."""

    ids: np.ndarray  # HxW uint16
    unmatched_colors: list[tuple[tuple[int, int, int], int, tuple[int, int]]]  # rgb, count, (x, y)
    unmatched_pixels: int


def map_colors(
    rgb: np.ndarray,
    palette: Palette,
    tolerance: float = 12.0,
    unlabeled_rgb: tuple[int, int, int] | None = (0, 0, 0),
) -> ColorMapping:
    """Map each colour of an HxWx3 image to the nearest palette colour within `tolerance`.

    Colours farther than `tolerance` (Euclidean RGB distance) from every entry become 0 and are
    reported with their pixel count and the first place (x, y) they occur; nothing is guessed.
    Pixels of exactly `unlabeled_rgb` (unless a class uses it) become 0 without a report.
    """
    h, w = rgb.shape[:2]
    flat = rgb.reshape(-1, 3).astype(np.int32)
    keys = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    uniq, first, inverse, counts = np.unique(
        keys, return_index=True, return_inverse=True, return_counts=True
    )
    colours = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], axis=1)
    table = np.array([e.rgb for e in palette.entries], np.int32).reshape(-1, 3)
    values = np.array([e.value for e in palette.entries], np.uint16)
    dist = np.sqrt(((colours[:, None, :] - table[None, :, :]) ** 2).sum(axis=2))
    best = dist.argmin(axis=1)
    ok = dist[np.arange(len(colours)), best] <= tolerance
    if unlabeled_rgb is not None and tuple(unlabeled_rgb) not in {e.rgb for e in palette.entries}:
        blank = np.all(colours == np.array(unlabeled_rgb), axis=1)
        best = np.where(blank, -1, best)
        ok |= blank
    mapped = np.where(ok & (best >= 0), values[np.maximum(best, 0)], 0).astype(np.uint16)
    unmatched = [
        (tuple(int(c) for c in colours[i]), int(counts[i]), (int(first[i] % w), int(first[i] // w)))
        for i in np.flatnonzero(~ok)
    ]
    unmatched.sort(key=lambda item: -item[1])
    return ColorMapping(
        mapped[inverse].reshape(h, w), unmatched, int(counts[~ok].sum()) if len(ok) else 0
    )
