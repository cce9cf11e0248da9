"""Paired datasets on disk: (label map, image, optional style/caption) triples.

The one layout every trainer and `studio eval` reads, and `studio data synth` writes, so that
artists can train on their own paired data too:

    DIR/
      dataset.json       {"format": "studio-paired-dataset", "version": 1, "label_set": "landscape",
                          "count": N, ...}   (optional for hand-made sets: label_set defaults
                          to "landscape")
      images/<id>.png    RGB picture (any size; RGBA/greyscale are converted to RGB)
      labels/<id>.png    single-channel 8- or 16-bit PNG of label-set values (0 = unlabeled),
                         same size as the picture
      meta/<id>.json     optional: {"time": "sunset", "weather": "cloudy", "season": "winter",
                          "caption": "free text", ...}

An <id> is the file stem; pairs are listed in sorted id order. Missing or mismatched files
raise DatasetError with the file named.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from studio.errors import StudioError

FORMAT = "studio-paired-dataset"
VERSION = 1


class DatasetError(StudioError):
    """A dataset folder is missing files, has mismatched pairs or unreadable images."""


@dataclass(frozen=True)
class Pair:
    id: str
    image: np.ndarray  # HxWx3 uint8
    labels: np.ndarray  # HxW uint16, label-set values, 0 = unlabeled
    meta: dict[str, Any] = field(default_factory=dict)


def read_labels_png(path: Path) -> np.ndarray:
    """A single-channel 8/16-bit (or palette-indexed) PNG -> HxW uint16 values."""
    with Image.open(path) as im:
        if im.mode not in ("L", "P", "I;16", "I;16B", "I;16L", "I"):
            raise DatasetError(
                f"{path.name} is not a single-channel label PNG (mode {im.mode}).",
                "Label maps hold one value per pixel (8- or 16-bit greyscale or indexed).",
            )
        values = np.asarray(im)
    if values.min(initial=0) < 0 or values.max(initial=0) > 65535:
        raise DatasetError(f"{path.name} holds label values outside 0..65535.")
    return values.astype(np.uint16)


def write_labels_png(path: Path, labels: np.ndarray) -> None:
    labels = np.asarray(labels)
    if labels.max(initial=0) < 256:
        Image.fromarray(labels.astype(np.uint8), "L").save(path, optimize=False, compress_level=1)
    else:
        Image.fromarray(labels.astype(np.uint16)).save(path, compress_level=1)


class PairedDataset:
    """Read access to a dataset folder; `len(ds)`, `ds[i]`, iteration, `ds.info`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"The dataset folder {self.root} does not exist.")
        info_path = self.root / "dataset.json"
        self.info: dict[str, Any] = {}
        if info_path.exists():
            try:
                self.info = json.loads(info_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise DatasetError(f"{info_path} is not valid JSON.", str(exc)) from exc
            if self.info.get("format", FORMAT) != FORMAT:
                raise DatasetError(f"{info_path} is not a Studio paired dataset.")
            if int(self.info.get("version", VERSION)) > VERSION:
                raise DatasetError(
                    f"{info_path} was written by a newer Studio (version {self.info['version']})."
                )
        images, labels = self.root / "images", self.root / "labels"
        if not images.is_dir() or not labels.is_dir():
            raise DatasetError(
                f"{self.root} needs an images/ and a labels/ folder of matching PNG files."
            )
        image_ids = {p.stem for p in images.glob("*.png")}
        label_ids = {p.stem for p in labels.glob("*.png")}
        missing = sorted(image_ids ^ label_ids)
        if missing:
            raise DatasetError(
                f"{len(missing)} pictures have no label map or the other way round "
                f"(first: {missing[0]}.png).",
                "Every images/<id>.png needs a labels/<id>.png of the same size.",
            )
        if not image_ids:
            raise DatasetError(f"{self.root} holds no pairs (images/*.png is empty).")
        self.ids: list[str] = sorted(image_ids)

    @property
    def label_set(self) -> str:
        return str(self.info.get("label_set", "landscape"))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> Pair:
        return self.load(self.ids[index])

    def __iter__(self) -> Iterator[Pair]:
        for pair_id in self.ids:
            yield self.load(pair_id)

    def meta(self, pair_id: str) -> dict[str, Any]:
        path = self.root / "meta" / f"{pair_id}.json"
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{path} is not valid JSON.", str(exc)) from exc
        return data if isinstance(data, dict) else {}

    def load(self, pair_id: str) -> Pair:
        image_path = self.root / "images" / f"{pair_id}.png"
        try:
            with Image.open(image_path) as im:
                image = np.asarray(im.convert("RGB"))
        except OSError as exc:
            raise DatasetError(f"{image_path} cannot be read.", str(exc)) from exc
        labels = read_labels_png(self.root / "labels" / f"{pair_id}.png")
        if labels.shape != image.shape[:2]:
            raise DatasetError(
                f"{pair_id}: the label map is {labels.shape[1]}x{labels.shape[0]} but the "
                f"picture is {image.shape[1]}x{image.shape[0]}."
            )
        return Pair(pair_id, image, labels, self.meta(pair_id))

    def split(self, holdout: int) -> tuple[list[str], list[str]]:
        """(train ids, held-out ids): the last `holdout` ids in sorted order are held out."""
        if not 0 <= holdout < len(self.ids):
            raise DatasetError(f"Cannot hold out {holdout} of {len(self.ids)} pairs.")
        cut = len(self.ids) - holdout
        return self.ids[:cut], self.ids[cut:]


class DatasetWriter:
    """Writes pairs into the layout above; `finish()` writes dataset.json last."""

    def __init__(self, root: str | Path, label_set: str = "landscape", **info: Any) -> None:
        self.root = Path(root)
        for sub in ("images", "labels", "meta"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.label_set = label_set
        self.extra = info
        self.count = 0

    def write(
        self, pair_id: str, image: np.ndarray, labels: np.ndarray, meta: dict | None = None
    ) -> None:
        image = np.asarray(image, dtype=np.uint8)
        if image.ndim != 3 or image.shape[2] != 3 or labels.shape != image.shape[:2]:
            raise DatasetError(
                f"{pair_id}: need an HxWx3 picture and an HxW label map of the same size."
            )
        Image.fromarray(image, "RGB").save(
            self.root / "images" / f"{pair_id}.png", compress_level=1
        )
        write_labels_png(self.root / "labels" / f"{pair_id}.png", labels)
        if meta:
            (self.root / "meta" / f"{pair_id}.json").write_text(
                json.dumps(meta, sort_keys=True), encoding="utf-8"
            )
        self.count += 1

    def finish(self) -> Path:
        total = len(list((self.root / "images").glob("*.png")))
        info = {
            "format": FORMAT,
            "version": VERSION,
            "label_set": self.label_set,
            "count": total,
            **self.extra,
        }
        path = self.root / "dataset.json"
        path.write_text(json.dumps(info, indent=2, sort_keys=True), encoding="utf-8")
        return path
