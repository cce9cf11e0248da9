"""How long one StyleGAN2 picture takes on the CPU, at the official configurations' sizes.

Random weights (nothing is downloaded) of NVIDIA's StyleGAN2-ADA configurations: 256² is
"paper256" (channel_base 16384), 512² and 1024² are "paper512"/"paper1024" (channel_base 32768);
8 mapping layers, channel_max 512, the skip architecture. Each size: one warm-up picture, then
the median of --repeats pictures (mapping + synthesis, noise const, ψ 0.7), with the torch
thread count printed beside it since the figures scale with it.

    python benchmarks/stylegan_cpu.py [--sizes 256 512 1024] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from studio.engine.stylegan.config import from_init_kwargs
from studio.engine.stylegan.seeds import z_for_seed
from studio.engine.stylegan.synthesis import StyleGAN2

CHANNEL_BASE = {256: 16384, 512: 32768, 1024: 32768}


def config(size: int):
    return from_init_kwargs(dict(
        z_dim=512, w_dim=512, c_dim=0, img_resolution=size, img_channels=3,
        mapping_kwargs={"num_layers": 8},
        synthesis_kwargs={"channel_base": CHANNEL_BASE[size], "channel_max": 512,
                          "conv_clamp": 256},
    ))  # fmt: skip


def seconds_per_picture(size: int, repeats: int) -> tuple[float, int]:
    net = StyleGAN2(config(size)).eval().requires_grad_(False)
    for p in net.parameters():
        torch.nn.init.normal_(p)
    params = sum(p.numel() for p in net.parameters())
    times = []
    with torch.no_grad():
        for seed in range(repeats + 1):
            started = time.perf_counter()
            net(z_for_seed(seed, 512), None, 0.7, "const")
            times.append(time.perf_counter() - started)
    return statistics.median(times[1:]), params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for size in args.sizes:
        seconds, params = seconds_per_picture(size, args.repeats)
        print(f"StyleGAN2 {size}²  {params / 1e6:.1f} M parameters  {seconds:.2f} s per picture")


if __name__ == "__main__":
    main()
