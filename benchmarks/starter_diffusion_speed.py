"""Starter diffusion speed on CPU: 20 steps with CFG at 128² through the engine's own loop.

The shipped config (studio.engine.starter.model.SHIPPED_UNET) with random weights (speed does not
depend on them) runs `sampling.sample` for 20 steps with guidance (each step one batched UNet call
on 2 inputs), one sample, a label map and a style id. The baseline, measured in the same run, is
the bare diffusers UNet2DModel forward on the same batch-2 input called 20 times in a row, so the
ratio is the cost of the loop (scheduler, CFG, x0 previews) over the network alone. Each figure is
the median of --runs after one warm-up run. The goal is ≤ 3 s absolute on the 2-core CPU at 2
threads; the load average is printed because other processes on the machine slow every figure.

    python benchmarks/starter_diffusion_speed.py [--runs 5] [--threads 2] [--model FOLDER]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from studio.engine.starter import vocab  # noqa: E402
from studio.engine.starter.model import (  # noqa: E402
    LoadedStarter,
    StarterConfig,
    build_unet,
    labels_to_onehot,
    load_starter,
)
from studio.engine.starter.sampling import sample  # noqa: E402


def _loaded(model: Path | None) -> LoadedStarter:
    if model is not None:
        return load_starter(model)
    cfg = StarterConfig()
    torch.manual_seed(0)
    unet = build_unet(cfg).eval().requires_grad_(False)
    return LoadedStarter(unet, cfg, Path("."), "cpu", torch.float32)


def _labels(size: int) -> np.ndarray:
    labels = np.full((size, size), vocab.material_value("sky"), np.uint16)
    labels[size // 2 :] = vocab.material_value("grass")
    labels[size // 3 : size // 2, : size // 2] = vocab.material_value("mountain")
    return labels


def _median(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--model", type=Path, default=None, help="default: random shipped config")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    loaded = _loaded(args.model)
    cfg, unet = loaded.cfg, loaded.unet
    params = sum(p.numel() for p in unet.parameters())
    onehot = labels_to_onehot(_labels(cfg.native_size), cfg.native_size)[None]
    style = vocab.style_id("sunset", "clear", "summer")

    def engine() -> None:
        sample(loaded, onehot, [style], args.steps, 3.0, torch.Generator().manual_seed(0))

    size = cfg.unet_size
    x = torch.randn(2, cfg.image_channels + cfg.label_channels, size, size)
    classes = torch.tensor([0, style])

    def bare() -> None:
        with torch.inference_mode():
            for t in torch.linspace(999, 0, args.steps).long():
                unet(x, t, class_labels=classes)

    base = _median(bare, args.runs)
    loop = _median(engine, args.runs)
    print(f"starter diffusion: {params / 1e6:.2f} M params ({params * 2 / 1e6:.1f} MB fp16)")
    print(f"threads {args.threads}, load average {os.getloadavg()[0]:.2f}, {args.runs} runs")
    print(f"bare UNet x{args.steps} (batch 2, {size}²):  {base:.2f} s")
    print(f"engine {args.steps} steps CFG at {cfg.native_size}²:  {loop:.2f} s  (goal ≤ 3 s)")
    print(f"ratio engine / bare UNet: {loop / base:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
