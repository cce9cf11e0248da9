"""Regional prompts' regions from a label map: which pixels each named class's words reach."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from studio.engine.inputs import Inputs

MAX_REGIONS = 255  # region ids are uint8; 0 is "no region"


def class_key(name: str) -> str:
    """'Mountain, mount' and 'mountain' are one class; case and punctuation do not count."""
    return re.sub(r"[^a-z0-9]+", "", name.lower().split(",")[0].split(";")[0])


def class_names(inputs: Inputs) -> dict[int, str]:
    """Label id -> class name for the ids of `inputs.labels` (a palette, else a label set)."""
    from studio.engine.labels import label_set, palette_label_set

    if inputs.palette is not None:
        found = palette_label_set(dict(inputs.palette), inputs.palette.get("name"))
    else:
        space = inputs.label_space or "ade20k+1"
        found = label_set("ade20k" if space == "ade20k+1" else space)
    return {c.value: c.name for c in found.classes}


def region_map(
    inputs: Inputs, wanted: Sequence[tuple[str, str]]
) -> tuple[tuple[tuple[str, str], ...], np.ndarray, tuple[str, ...]]:
    """(regions kept, HxW uint8 map with region k at its class's pixels, notes for the artist)."""
    labels = np.asarray(inputs.labels)
    by_key: dict[str, list[int]] = {}
    for value, name in class_names(inputs).items():
        by_key.setdefault(class_key(name), []).append(value)
    present = set(np.unique(labels).tolist())
    out = np.zeros(labels.shape, np.uint8)
    kept: list[tuple[str, str]] = []
    missing: list[str] = []
    for name, words in wanted:
        ids = [v for v in by_key.get(class_key(name), []) if v in present]
        if not ids or len(kept) == MAX_REGIONS:
            missing.append(name)
            continue
        kept.append((name, words))
        out[np.isin(labels, ids)] = len(kept)
    notes = ()
    if missing:
        notes = (f"No {', '.join(missing)} painted on the label layer: those words were not used",)
    return tuple(kept), out, notes
