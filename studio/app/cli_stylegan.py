"""`studio generate` flags for StyleGAN models (the "sample" mode): truncation, noise mode,
class and style mixing. A StyleGAN model as --model with no prompt, labels or mask samples."""

from __future__ import annotations

import argparse

TRUNCATION_HELP = "truncation ψ (default 1: as trained; 0.7 is a common choice)"
MIX_HELP = "coarse, middle, fine (default) or a range of W indices such as 0-6"


def add_generate_arguments(gen: argparse.ArgumentParser) -> None:
    """The sample flags, named and defaulted as NVIDIA's gen_images.py names them."""
    sample = gen.add_argument_group("sampling (StyleGAN .pkl / .pt / .safetensors generators)")
    sample.add_argument("--truncation", "--trunc", type=float, default=1.0, help=TRUNCATION_HELP)
    sample.add_argument("--noise-mode", choices=["const", "random", "none"], default="const")
    sample.add_argument(
        "--class", dest="class_index", type=int, default=None, metavar="K",
        help="class index, for class-conditional models",
    )  # fmt: skip
    sample.add_argument(
        "--mix-seed", type=int, default=None,
        help="style mixing: take --mix-layers' styles from this seed",
    )  # fmt: skip
    sample.add_argument("--mix-layers", default="fine", help=MIX_HELP)
    sample.add_argument(
        "--translate", type=_pair, default=(0.0, 0.0), metavar="X,Y",
        help="StyleGAN3: pan the picture (as gen_images.py's --translate)",
    )  # fmt: skip
    sample.add_argument("--rotate", type=float, default=0.0, metavar="DEG",
                        help="StyleGAN3: rotate the picture, degrees")  # fmt: skip


def _pair(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected X,Y, got {text!r}")
    return float(parts[0]), float(parts[1])


def sample_values(args: argparse.Namespace) -> dict:
    """The GenerateParams fields these flags set."""
    return dict(
        truncation=args.truncation,
        noise_mode=args.noise_mode,
        class_index=args.class_index,
        mix_seed=args.mix_seed,
        mix_layers=args.mix_layers,
        translate_x=args.translate[0],
        translate_y=args.translate[1],
        rotate=args.rotate,
    )
