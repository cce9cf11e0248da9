"""How long one StyleGAN2 picture takes on the CPU, at the official configurations' sizes.

Random weights (nothing is downloaded) of NVIDIA's StyleGAN2-ADA configurations: 256² is
"paper256" (channel_base 16384), 512² and 1024² are "paper512"/"paper1024" (channel_base 32768);
8 mapping layers, channel_max 512, the skip architecture. Each size: one warm-up picture, then
the median of --repeats pictures (mapping + synthesis, noise const, ψ 0.7), with the torch
thread count printed beside it since the figures scale with it.

StyleGAN3 (--sg3): NVIDIA's defaults for config T (channel_base 32768, channel_max 512) and
R (1x1 convolutions, radial filters, twice the channels), 2 mapping layers.

    python benchmarks/stylegan_cpu.py [--sizes 256 512 1024] [--repeats 3] [--sg3]
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


def sg3(size: int, kind: str) -> torch.nn.Module:
    from studio.engine.stylegan.sg3 import StyleGAN3, StyleGAN3Config

    r = kind == "R"
    cfg = StyleGAN3Config(z_dim=512, w_dim=512, img_resolution=size,
                          channel_base=65536 if r else 32768, channel_max=1024 if r else 512,
                          conv_kernel=1 if r else 3, use_radial_filters=r)  # fmt: skip
    net = StyleGAN3(cfg)
    for name, buf in net.named_buffers():
        if name.endswith("_filter"):  # a normalised low-pass stand-in of the right shape
            buf.fill_(1.0 / buf.numel())
    return net


def seconds_per_picture(size: int, repeats: int, kind: str = "2") -> tuple[float, int]:
    net = StyleGAN2(config(size)) if kind == "2" else sg3(size, kind)
    net = net.eval().requires_grad_(False)
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
    parser.add_argument("--sg3", action="store_true", help="StyleGAN3 T and R instead")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for kind in ("T", "R") if args.sg3 else ("2",):
        name = f"StyleGAN3-{kind}" if args.sg3 else "StyleGAN2"
        for size in args.sizes:
            seconds, params = seconds_per_picture(size, args.repeats, kind)
            print(f"{name} {size}²  {params / 1e6:.1f} M parameters  {seconds:.2f} s per picture")


if __name__ == "__main__":
    main()
