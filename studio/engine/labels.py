"""Label sets and the mapping from a label map's ids to a SPADE model's one-hot channels."""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.errors import InvalidRequestError, ModelLoadError
from studio.resources import RESOURCES

REFERENCE_DIRS = (RESOURCES / "palettes",)
# labelIds 0..33 (cityscapesScripts labels.py); SPADE uses label_nc = 35 (34: license plate)
CITYSCAPES = (
    "unlabeled",
    "ego vehicle",
    "rectification border",
    "out of roi",
    "static",
    "dynamic",
    "ground",
    "road",
    "sidewalk",
    "parking",
    "rail track",
    "building",
    "wall",
    "fence",
    "guard rail",
    "bridge",
    "tunnel",
    "pole",
    "polegroup",
    "traffic light",
    "traffic sign",
    "vegetation",
    "terrain",
    "sky",
    "person",
    "rider",
    "car",
    "truck",
    "bus",
    "caravan",
    "trailer",
    "train",
    "motorcycle",
    "bicycle",
)
LINK_FIELDS = ("ade20k", "cocostuff", "cityscapes")
GUESSABLE = ("landscape", "ade20k", "cocostuff")  # sets whose tables carry colours


@dataclass(frozen=True)
class LabelClass:
    """One class: the id stored in label maps, its name, and its id in the standard sets."""

    value: int
    name: str
    links: dict[str, int] = field(default_factory=dict)  # "ade20k": 0-based, "cocostuff": 1..182
    rgb: tuple[int, int, int] | None = None  # display colour, when the table has one


@dataclass(frozen=True)
class LabelSet:
    """The ids a label map holds: a Studio palette or a dataset's own convention."""

    name: str
    classes: tuple[LabelClass, ...]
    unlabeled: frozenset[int] = frozenset()  # values meaning "no class" (ADE 0, COCO 0)

    @functools.cached_property
    def by_value(self) -> dict[int, LabelClass]:
        return {c.value: c for c in self.classes}


@dataclass(frozen=True)
class ModelLabels:
    """A model's one-hot channels: which class each channel is, plus dontcare / instance edge."""

    space: str  # "ade20k" | "cocostuff" | "cityscapes" | a palette name
    channels: tuple[str, ...]  # class name per channel (label_nc entries)
    dontcare: bool
    instance: bool
    offset: int = 0  # channel = link id - offset (COCO-Stuff ids are 1-based, channels 0-based)

    @property
    def semantic_nc(self) -> int:
        return len(self.channels) + int(self.dontcare) + int(self.instance)

    def channel_for(self, cls: LabelClass, source: str) -> int | None:
        """The channel of a class: by its link to this space, else by (normalised) name."""
        link = cls.links.get(self.space)
        if link is None and source == self.space:
            link = cls.value
        if link is not None:
            channel = link - self.offset
            return channel if 0 <= channel < len(self.channels) else None
        names = _names(self.channels)
        for variant in _variants(cls.name):
            if _norm(variant) in names:
                return names[_norm(variant)]
        return None


def _variants(name: str) -> tuple[str, ...]:
    """COCO-Stuff's "sky-other" / panoptic "grass-merged" are plain "sky" / "grass" elsewhere."""
    return (name, name.removesuffix("-other"), name.removesuffix("-merged"))


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower().split(",")[0].split(";")[0])


@functools.lru_cache(maxsize=16)
def _names(channels: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, name in enumerate(channels):
        for variant in _variants(name):
            out.setdefault(_norm(variant), i)
    return out


def _reference(filename: str) -> dict:
    for folder in REFERENCE_DIRS:
        if (folder / filename).is_file():
            return json.loads((folder / filename).read_text(encoding="utf-8"))
    raise ModelLoadError(f"The label table {filename} is missing from this installation.")


def _from_reference(data: dict, space: str) -> list[LabelClass]:
    """Classes from the reference JSON layout ({'classes': [{'id'|'cocostuff_id', 'name'}]})."""
    out = []
    for c in data["classes"]:
        if space == "ade20k":
            rgb = tuple(c["rgb"]) if c.get("rgb") else None
            out.append(LabelClass(int(c["id"]) + 1, c["name"], {"ade20k": int(c["id"])}, rgb))
        else:
            out.append(
                LabelClass(int(c["cocostuff_id"]), c["name"], {"cocostuff": int(c["cocostuff_id"])})
            )
    return out


def palette_label_set(data: dict, name: str | None = None) -> LabelSet:
    """A Studio palette ({'format': 'studio-palette', 'entries': [...]}) or a reference table."""
    if "entries" in data:
        classes = tuple(
            LabelClass(
                int(e["value"]),
                str(e["name"]),
                {k: int(e[k]) for k in LINK_FIELDS if e.get(k) is not None},
                tuple(e["rgb"]) if e.get("rgb") else None,
            )
            for e in data["entries"]
        )
        return LabelSet(name or str(data.get("name", "palette")).lower(), classes, frozenset({0}))
    if "classes" in data:
        space = "ade20k" if "id" in data["classes"][0] else "cocostuff"
        return LabelSet(space, tuple(_from_reference(data, space)), frozenset({0}))
    raise ModelLoadError("This JSON file is not a label palette (no 'entries' or 'classes').")


@functools.cache
def builtin_label_set(name: str) -> LabelSet:
    """ade20k (value = ADE id + 1, 0 other), cocostuff (COCO-Stuff id, 0 unlabeled),
    cocostuff-spade (SPADE files: id - 1, 255 unlabeled), cityscapes (labelIds), landscape."""
    if name == "ade20k":
        return palette_label_set(_reference("ade20k-150.json"))
    if name == "cocostuff":
        return palette_label_set(_reference("cocostuff-182.json"))
    if name == "cocostuff-spade":
        base = builtin_label_set("cocostuff").classes
        classes = tuple(LabelClass(c.value - 1, c.name, dict(c.links)) for c in base)
        return LabelSet(name, classes, frozenset({255}))
    if name == "cityscapes":
        classes = tuple(LabelClass(i, n, {"cityscapes": i}) for i, n in enumerate(CITYSCAPES))
        return LabelSet(name, classes, frozenset())
    if name == "landscape":
        return palette_label_set(_reference("landscape.json"), "landscape")
    raise InvalidRequestError(
        f"Unknown label set {name!r}.",
        "Known: ade20k, cocostuff, cocostuff-spade, cityscapes, landscape, or a palette .json path",
    )


def label_set(name_or_path: str) -> LabelSet:
    """A built-in label set by name, or a palette JSON file by path."""
    path = Path(name_or_path)
    if path.suffix.lower() == ".json" and path.is_file():
        try:
            return palette_label_set(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelLoadError(f"{path.name} is not a readable palette.", str(exc)) from exc
    return builtin_label_set(name_or_path)


def official_model_labels(space: str) -> ModelLabels:
    """The label spaces of NVlabs/SPADE's released COCO-Stuff, ADE20K and Cityscapes generators."""
    if space == "cocostuff":
        names = tuple(c.name for c in builtin_label_set("cocostuff").classes)
        return ModelLabels("cocostuff", names, dontcare=True, instance=True, offset=1)
    if space == "ade20k":
        names = tuple(c.name for c in builtin_label_set("ade20k").classes)
        return ModelLabels("ade20k", names, dontcare=True, instance=False)
    if space == "cityscapes":
        return ModelLabels("cityscapes", tuple(CITYSCAPES) + ("license plate",), False, True)
    raise ModelLoadError(f"No built-in label space {space!r}.")


@dataclass(frozen=True)
class MappedLabels:
    """Channel per pixel (-1: all-zero one-hot) and the classes the model does not know."""

    channels: np.ndarray  # HxW int64, values in [-1, label_nc + dontcare)
    unknown: dict[str, int]  # class name (or "value N") -> pixel count


def map_labels(label_map: np.ndarray, source: LabelSet, target: ModelLabels) -> MappedLabels:
    """Translate ids of `source` into `target` channels; unknown classes go to dontcare."""
    values, inverse = np.unique(np.asarray(label_map), return_inverse=True)
    counts = np.bincount(inverse.ravel(), minlength=len(values))
    fallback = len(target.channels) if target.dontcare else -1
    lut = np.full(len(values), fallback, dtype=np.int64)
    unknown: Counter[str] = Counter()
    for i, value in enumerate(values.tolist()):
        cls = source.by_value.get(int(value))
        if int(value) in source.unlabeled:
            continue
        channel = target.channel_for(cls, source.name) if cls is not None else None
        if channel is None:
            unknown[cls.name if cls is not None else f"value {value}"] += int(counts[i])
        else:
            lut[i] = channel
    return MappedLabels(lut[inverse].reshape(np.shape(label_map)), dict(unknown))


def instance_edges(ids: np.ndarray) -> np.ndarray:
    """1 where a pixel's id differs from a 4-neighbour (both pixels of the pair), as SPADE."""
    edge = np.zeros(ids.shape, dtype=bool)
    dx = ids[:, 1:] != ids[:, :-1]
    dy = ids[1:, :] != ids[:-1, :]
    edge[:, 1:] |= dx
    edge[:, :-1] |= dx
    edge[1:, :] |= dy
    edge[:-1, :] |= dy
    return edge.astype(np.float32)


def guess_label_set(ids: np.ndarray, palette: np.ndarray, candidates=GUESSABLE) -> str | None:
    """The label set whose colours an indexed PNG's palette (Nx3) shows for every id it uses."""
    used = [int(v) for v in np.unique(ids)]
    for name in candidates:
        try:
            classes = builtin_label_set(name).by_value
        except (ModelLoadError, InvalidRequestError):
            continue
        ok = all(
            v in classes
            and classes[v].rgb is not None
            and v < len(palette)
            and tuple(int(c) for c in palette[v]) == classes[v].rgb
            for v in used
            if v not in builtin_label_set(name).unlabeled
        )
        if ok and any(v in classes for v in used):
            return name
    return None
