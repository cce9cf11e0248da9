"""Synthetic-scene speed: ms per scene for the layout and the full render, against writing the
same pair to disk as PNGs (what `studio data synth` does with every scene anyway).

Each case: the median over --scenes seeds (after one warm-up), one process, same run. A render
that costs about as much as its own PNG writing is "fast enough" for tens of thousands of scenes.

    python benchmarks/synth_speed.py [--scenes 40] [--sizes 256 512]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from studio.engine.starter.layout import sample_layout  # noqa: E402
from studio.training.dataset import DatasetWriter  # noqa: E402
from studio.training.synth import render_scene  # noqa: E402


def _median_ms(fn, seeds) -> float:
    fn(seeds[0])  # warm-up
    times = []
    for seed in seeds:
        start = time.perf_counter()
        fn(seed)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=40)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    args = parser.parse_args()
    seeds = list(range(1000, 1000 + args.scenes))
    print(f"{'size':>5} {'layout ms':>10} {'render ms':>10} {'png ms':>8} {'render/png':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        writer = DatasetWriter(tmp)
        for size in args.sizes:
            scenes = {s: render_scene(s, size) for s in seeds[:8]}

            def write(seed, scenes=scenes, size=size):
                img, lab, meta = scenes[seeds[(seed - seeds[0]) % 8]]
                writer.write(f"{seed:06d}", img, lab, meta)

            layout = _median_ms(
                lambda s, n=size: sample_layout(np.random.default_rng(s), (n, n)), seeds
            )
            render = _median_ms(lambda s, n=size: render_scene(s, n), seeds)
            png = _median_ms(write, seeds)
            print(f"{size:>5} {layout:>10.1f} {render:>10.1f} {png:>8.1f} {render / png:>11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
