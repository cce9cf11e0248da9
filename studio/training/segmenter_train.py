"""Train the evaluation segmenter on the training split of a paired dataset (resumable).

Deterministic given the seed: batch order and flips come from numpy generators keyed by
(seed, epoch) and (seed, step). The state (weights + AdamW moments + step) is written to
OUT.state.safetensors every ~minute; rerunning the same command continues from it.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.engine.starter.vocab import LABEL_CHANNELS
from studio.training import segmenter as seg
from studio.training.dataset import PairedDataset
from studio.training.eval_metrics import confusion, score
from studio.units import format_duration

HOLDOUT = 200


@dataclass
class TrainSettings:
    """What a run needs; the same settings + seed give the same weights."""

    data: Path
    out: Path
    steps: int = 1500
    batch: int = 16
    lr: float = 2e-3
    seed: int = 0
    max_minutes: float | None = None
    widths: tuple[int, ...] = seg.WIDTHS
    size: int = seg.SIZE  # input side in px
    holdout: int = HOLDOUT
    save_every_s: float = 60.0


def load_split(ds: PairedDataset, ids: list[str], size: int, on_load=None):
    """Pictures [N, S, S, 3] uint8, labels [N, S, S] uint8, flat colour sums [C, 4] float64."""
    images = np.empty((len(ids), size, size, 3), np.uint8)
    labels = np.empty((len(ids), size, size), np.uint8)
    sums = np.zeros((LABEL_CHANNELS, 4))  # r, g, b sums and pixel count per class
    for i, pair_id in enumerate(ids):
        pair = ds.load(pair_id)
        images[i] = seg.resize_image(pair.image, size)
        labels[i] = np.minimum(seg.resize_labels(pair.labels, size), 255)
        flat = np.minimum(pair.labels.ravel(), LABEL_CHANNELS - 1).astype(np.int64)
        for ch in range(3):
            sums[:, ch] += np.bincount(flat, pair.image[:, :, ch].ravel(), minlength=LABEL_CHANNELS)
        sums[:, 3] += np.bincount(flat, minlength=LABEL_CHANNELS)
        if on_load:
            on_load(i + 1, len(ids))
    return images, labels, sums


def flat_colors(sums: np.ndarray) -> np.ndarray:
    """[C, 3] uint8 mean colour per class (grey for classes never seen)."""
    count = np.maximum(sums[:, 3:4], 1)
    colors = np.where(sums[:, 3:4] > 0, sums[:, :3] / count, 128.0)
    return np.clip(np.round(colors), 0, 255).astype(np.uint8)


def _lr(settings: TrainSettings, step: int) -> float:
    warm = min(50, settings.steps // 10 + 1)
    if step < warm:
        return settings.lr * (step + 1) / warm
    t = (step - warm) / max(1, settings.steps - warm)
    return settings.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def _batch_indices(settings: TrainSettings, step: int, n: int) -> np.ndarray:
    per_epoch = max(1, n // settings.batch)
    epoch, k = divmod(step, per_epoch)
    order = np.random.default_rng([settings.seed, epoch]).permutation(n)
    return order[k * settings.batch : (k + 1) * settings.batch]


def _state_path(out: Path) -> Path:
    return out.with_name(out.name + ".state.safetensors")


def _save_state(path: Path, net, opt, step: int, settings: TrainSettings, loss: float) -> None:
    from safetensors.torch import save_file

    tensors = {f"net.{k}": v.detach().contiguous() for k, v in net.state_dict().items()}
    for pid, slot in opt.state_dict()["state"].items():
        for name, value in slot.items():
            tensors[f"opt.{pid}.{name}"] = value.detach().clone().contiguous()
    meta = {"step": str(step), "seed": str(settings.seed), "loss": f"{loss:.6f}"}
    tmp = path.with_name(path.name + ".partial")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)


def _load_state(path: Path, net, opt) -> int:
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    tensors = load_file(str(path))
    net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
    state = opt.state_dict()  # AdamW slots per parameter index: step, exp_avg, exp_avg_sq
    params = state["param_groups"][0]["params"]
    for i, pid in enumerate(params):
        slot = {k.split(".", 2)[2]: v for k, v in tensors.items() if k.startswith(f"opt.{i}.")}
        if slot:
            state["state"][pid] = slot
    opt.load_state_dict(state)
    return int(meta.get("step", 0))


def held_out_score(net, images: np.ndarray, labels: np.ndarray, batch: int = 32):
    """The segmenter's pixel accuracy / mIoU on already-resized real pictures."""
    loaded = seg.LoadedSegmenter(net, images.shape[1], {}, None)
    net.eval()
    pred = loaded.predict(list(images), batch)
    net.train()
    return score(confusion(labels, pred, LABEL_CHANNELS))


def train(settings: TrainSettings, log: Callable[[str], None] | None = None) -> dict:
    """Train (or continue) and write settings.out; returns the info stored in the file."""
    import torch

    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    ds = PairedDataset(settings.data)
    train_ids, held_ids = ds.split(settings.holdout)
    size = settings.size
    log(f"segmenter: reading {len(train_ids)} training and {len(held_ids)} held-out scenes")
    images, labels, sums = load_split(ds, train_ids, size)
    held_images, held_labels, _ = load_split(ds, held_ids, size)
    torch.manual_seed(settings.seed)
    net = seg.build(settings.widths)
    opt = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=1e-4)
    state = _state_path(settings.out)
    step = 0
    if state.exists():
        step = _load_state(state, net, opt)
        log(f"segmenter: resuming at step {step} from {state.name}")
    started, saved, loss_avg = time.monotonic(), time.monotonic(), None
    deadline = started + settings.max_minutes * 60 if settings.max_minutes else None
    first = step
    net.train()
    while step < settings.steps:
        idx = _batch_indices(settings, step, len(images))
        flip = np.random.default_rng([settings.seed, step, 1]).random(len(idx)) < 0.5
        x_np = images[idx].copy()
        y_np = labels[idx].copy()
        x_np[flip] = x_np[flip, :, ::-1]
        y_np[flip] = y_np[flip, :, ::-1]
        x = torch.from_numpy(x_np).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        y = torch.from_numpy(y_np.astype(np.int64))
        for group in opt.param_groups:
            group["lr"] = _lr(settings, step)
        loss = torch.nn.functional.cross_entropy(net(x), y, ignore_index=0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        value = loss.item()
        loss_avg = value if loss_avg is None else 0.95 * loss_avg + 0.05 * value
        now = time.monotonic()
        if step % 10 == 0 or step == settings.steps:
            rate = (now - started) / (step - first)
            eta = format_duration(rate * (settings.steps - step))
            log(
                f"segmenter: step {step}/{settings.steps} ({100 * step / settings.steps:.1f}%), "
                f"loss {loss_avg:.3f}, {rate:.2f} s/step, ETA {eta}"
            )
        if now - saved > settings.save_every_s:
            _save_state(state, net, opt, step, settings, loss_avg)
            saved = now
        if deadline and now > deadline:
            log(f"segmenter: time limit reached at step {step}; rerun to continue")
            break
    _save_state(state, net, opt, step, settings, loss_avg or 0.0)
    result = held_out_score(net, held_images, held_labels)
    info = {
        "size": size,
        "widths": list(settings.widths),
        "classes": LABEL_CHANNELS,
        "step": step,
        "steps": settings.steps,
        "batch": settings.batch,
        "seed": settings.seed,
        "lr": settings.lr,
        "dtype": "float16",
        "parameters": seg.parameter_count(net),
        "train_scenes": len(train_ids),
        "dataset": str(ds.info.get("generator", ds.root.name)),
        "dataset_info": {k: ds.info[k] for k in ("generator_version", "count") if k in ds.info},
        "held_out": {"scenes": len(held_ids), "pixel_accuracy": result.pixel_accuracy,
                     "miou": result.miou},
        "loss": loss_avg,
        "seconds_this_run": round(time.monotonic() - started, 1),
    }  # fmt: skip
    seg.save(settings.out, net.eval(), info, flat_colors(sums))
    log(
        f"segmenter: step {step}: held-out pixel accuracy {result.pixel_accuracy:.3f}, "
        f"mIoU {result.miou:.3f}; wrote {settings.out}"
    )
    log(json.dumps(info["held_out"]))
    return info
