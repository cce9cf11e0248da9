"""SPADE draft speed on CPU: frames per second, official architecture vs the starter's.

One "frame" is what the live draft costs per brush stroke: label map (uint16 ids) -> label
mapping + one-hot (+ instance edges) -> generator -> HxWx3 uint8, through the engine's own
`spade_model.render`. Weights are random (speed does not depend on them). The official
architecture is the NVlabs COCO-Stuff generator (ngf 64, 184 input channels, 97.5 M params);
the starter is `spade.starter_arch()` (widths 128..8, 16-wide SPADE MLP, 25 Landscape
channels, ~1.4 M params); both are put in channels_last as `load_spade` does. The goal: the
starter draws >= 15 frames/s at 256² with 2 threads.
Each case: one warm-up frame, then the median of --frames timed frames. Ratios are against
the official architecture at the same size, measured in the same run.

    python benchmarks/spade_fps.py [--frames 3] [--sizes 256 512] [--threads N] [--model FILE]

--model times a trained starter file through load_spade as well (row "file").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from studio.engine.gan.requests import SpadeRequest  # noqa: E402
from studio.engine.gan.spade import build_generator, official_arch, starter_arch  # noqa: E402
from studio.engine.gan.spade_model import LoadedSpade, load_spade, render  # noqa: E402
from studio.engine.labels import ModelLabels, builtin_label_set, official_model_labels  # noqa: E402


def _loaded(kind: str) -> LoadedSpade:
    import torch

    if kind not in ("official", "starter"):
        return load_spade(kind)
    if kind == "official":
        labels = official_model_labels("cocostuff")
        arch = official_arch(labels.semantic_nc)
    else:
        names = ["unused"] + [c.name for c in builtin_label_set("landscape").classes]
        labels = ModelLabels("landscape", tuple(names), dontcare=False, instance=False)
        arch = starter_arch(labels.semantic_nc)
    net = build_generator(arch).to(memory_format=torch.channels_last)
    return LoadedSpade(kind, net, arch, labels, "cpu", {})


def _labels(kind: str, size: int) -> tuple[np.ndarray, str]:
    """A blocky painted scene: 8x8 regions of random classes of the model's label set."""
    rng = np.random.default_rng(0)
    label_set = "cocostuff" if kind == "official" else "landscape"
    values = np.array([c.value for c in builtin_label_set(label_set).classes])
    small = rng.choice(values, (8, 8)).astype(np.uint16)
    return np.kron(small, np.ones((size // 8, size // 8), np.uint16)), label_set


def measure(kind: str, size: int, frames: int) -> float:
    loaded = _loaded(kind)
    ids, label_set = _labels(kind, size)
    request = SpadeRequest(kind, ids, label_set)
    render(loaded, request)  # warm-up
    times = []
    for _ in range(frames):
        started = time.perf_counter()
        image, unknown = render(loaded, request)
        times.append(time.perf_counter() - started)
        assert image.shape == (size, size, 3) and not unknown
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--model", default=None, help="a trained SPADE file to time as well")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    kinds = ["official", "starter"] + ([args.model] if args.model else [])
    params = {k: sum(p.numel() for p in _loaded(k).net.parameters()) for k in kinds}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, CPU")
    print("parameters: " + ", ".join(f"{_name(k)} {n:,}" for k, n in params.items()))
    print(f"{'size':>6} {'model':>9} {'s/frame':>9} {'frames/s':>9} {'vs official':>12}")
    for size in args.sizes:
        times = {k: measure(k, size, args.frames) for k in kinds}
        base = times["official"]
        for kind, seconds in times.items():
            print(
                f"{size:>5}² {_name(kind):>9} {seconds:>9.3f} {1 / seconds:>9.2f} "
                f"{base / seconds:>11.1f}x"
            )


def _name(kind: str) -> str:
    return kind if kind in ("official", "starter") else "file"


if __name__ == "__main__":
    main()
