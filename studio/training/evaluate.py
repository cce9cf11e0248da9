"""Measured quality of label-to-picture generators on held-out synthetic scenes.

For each generator, every held-out label map is turned into a picture; the evaluation
segmenter (trained only on real renders of the training split) reads it back:
  label faithfulness = pixel accuracy and mIoU of its prediction vs the scene's label map,
  realism            = Fréchet distance between its pooled encoder features of the generated
                       pictures and of the real held-out renders.
The "real renders" row is the ceiling: the segmenter on the real pictures, and the Fréchet
distance between real training-split renders and real held-out renders (the sampling floor).
All scoring happens at the segmenter's input size (128 px; labels by nearest pixel).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.starter.vocab import LABEL_CHANNELS, MATERIALS
from studio.training import segmenter as seg
from studio.training.dataset import PairedDataset
from studio.training.eval_generators import Generator, make_pictures
from studio.training.eval_metrics import confusion, feature_stats, frechet_distance, score

REAL = "real renders (ceiling)"


@dataclass(frozen=True)
class EvalRow:
    """One line of the table; seconds = wall time to make all `count` pictures."""

    name: str
    pixel_accuracy: float
    miou: float
    frechet: float
    seconds: float
    count: int
    iou: dict[str, float] = field(default_factory=dict)  # material name -> IoU (JSON only)


def _scene_meta(ds: PairedDataset, pair_id: str, index: int) -> dict[str, Any]:
    return {**ds.meta(pair_id), "id": pair_id, "eval_seed": index}


def _row(name, loaded, pictures, truth, real_stats, seconds) -> EvalRow:
    pred = loaded.predict(pictures)
    result = score(confusion(truth, pred, LABEL_CHANNELS))
    fd = frechet_distance(feature_stats(loaded.features(pictures)), real_stats)
    iou = {_name(c): round(v, 4) for c, v in sorted(result.iou.items())}
    return EvalRow(name, result.pixel_accuracy, result.miou, fd, seconds, len(pictures), iou)


def _name(value: int) -> str:
    return MATERIALS[value - 1] if 1 <= value <= len(MATERIALS) else f"value {value}"


def evaluate(
    data: str | Path,
    generators: list[Generator],
    loaded: seg.LoadedSegmenter,
    count: int = 200,
    holdout: int = 200,
    log: Callable[[str], None] | None = None,
    batch: int = 8,
) -> list[EvalRow]:
    """The table rows: the real-render ceiling first, then one row per generator."""
    log = log or (lambda text: None)
    ds = PairedDataset(data)
    train_ids, held_ids = ds.split(holdout)
    held_ids = held_ids[:count]
    pairs = [ds.load(pair_id) for pair_id in held_ids]
    truth = np.stack([seg.resize_labels(p.labels, loaded.size) for p in pairs])
    real = [p.image for p in pairs]
    real_stats = feature_stats(loaded.features(real))
    floor = [ds.load(pair_id).image for pair_id in train_ids[-len(held_ids) :]]
    ceiling = _row(REAL, loaded, real, truth, real_stats, 0.0)
    floor_fd = frechet_distance(feature_stats(loaded.features(floor)), real_stats)
    rows = [
        EvalRow(REAL, ceiling.pixel_accuracy, ceiling.miou, floor_fd, 0.0, len(real), ceiling.iou)
    ]
    log(f"eval: {REAL}: pixel accuracy {ceiling.pixel_accuracy:.3f}")
    for gen in generators:
        pictures, started = [], time.perf_counter()
        metas = [_scene_meta(ds, pair_id, i) for i, pair_id in enumerate(held_ids)]
        step = max(batch, 20)  # progress every >= 20 scenes
        for start in range(0, len(pairs), step):
            part = slice(start, start + step)
            labels = [p.labels for p in pairs[part]]
            pictures += make_pictures(gen, labels, metas[part], batch)
            rate = (time.perf_counter() - started) / len(pictures)
            log(
                f"eval: {gen.name}: {len(pictures)}/{len(pairs)} pictures, {rate:.2f} s each, "
                f"ETA {rate * (len(pairs) - len(pictures)):.0f}s"
            )
        seconds = time.perf_counter() - started
        rows.append(_row(gen.name, loaded, pictures, truth, real_stats, seconds))
        log(f"eval: {gen.name}: pixel accuracy {rows[-1].pixel_accuracy:.3f}")
    return rows


def markdown(rows: list[EvalRow], note: str = "") -> str:
    """A Markdown table (for model cards and the issue)."""
    lines = [
        "| generator | pixel acc | mIoU | Fréchet distance | seconds |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        secs = "—" if r.name == REAL else f"{r.seconds:.1f}"
        lines.append(
            f"| {r.name} | {r.pixel_accuracy:.3f} | {r.miou:.3f} | {r.frechet:.2f} | {secs} |"
        )
    return "\n".join(lines) + ("\n\n" + note if note else "") + "\n"


def text_table(rows: list[EvalRow]) -> str:
    """The table as aligned plain text for the terminal."""
    head = f"{'generator':<24} {'pixel acc':>9} {'mIoU':>6} {'Fréchet':>9} {'seconds':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        secs = "-" if r.name == REAL else f"{r.seconds:.1f}"
        lines.append(
            f"{r.name:<24} {r.pixel_accuracy:>9.3f} {r.miou:>6.3f} {r.frechet:>9.2f} {secs:>8}"
        )
    return "\n".join(lines)


def to_json(rows: list[EvalRow], context: dict[str, Any]) -> str:
    return json.dumps({"rows": [asdict(r) for r in rows], **context}, indent=2)
