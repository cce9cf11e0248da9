"""The GAN flags of `studio generate` (SPADE: --label-set, --style-image) and the
`studio translate` command (pix2pix / CycleGAN); both run through studio/app/cli_generate.py."""

from __future__ import annotations

import argparse
from pathlib import Path

LABEL_SETS = "ade20k, cocostuff, cocostuff-spade, cityscapes, landscape, or a palette .json"


def add_generate_arguments(gen: argparse.ArgumentParser) -> None:
    """SPADE flags for the existing `generate` parser; --labels may already be there (ControlNet
    seg uses it too): a SPADE checkpoint as --model is what switches to SPADE."""
    spade = gen.add_argument_group("semantic synthesis (SPADE checkpoints)")
    try:
        spade.add_argument("--labels", type=Path, help="label map PNG (indexed or grey ids)")
    except argparse.ArgumentError:
        pass  # already defined by the diffusion flags; same meaning (a PNG of label ids)
    spade.add_argument("--label-set", help=f"ids in the PNG: {LABEL_SETS} (default: from palette)")
    spade.add_argument("--style-image", type=Path, help="style reference (VAE-trained models)")


def add_commands(commands) -> None:
    """Register `translate` on the `studio` subparsers."""
    tr = commands.add_parser("translate", help="pix2pix / CycleGAN image-to-image")
    tr.add_argument("--model", required=True, type=Path, help="generator file or G_A/G_B folder")
    tr.add_argument("--image", required=True, type=Path)
    tr.add_argument("--direction", choices=["AtoB", "BtoA"], default="AtoB")
    tr.add_argument("--seed", type=int, default=None, help="dropout noise (pix2pix)")
    tr.add_argument("--no-dropout", action="store_true", help="deterministic pix2pix output")
    tr.add_argument("--tile", type=int, default=512, help="tile side for large images (0: off)")
    tr.add_argument("--out", type=Path, required=True)
    tr.add_argument("--device", choices=["cpu", "cuda", "mps"], default=None)
    tr.add_argument("--quiet", action="store_true")
