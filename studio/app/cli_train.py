"""`studio train …`: train the starter models on a paired dataset folder (progress on stderr)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_commands(commands) -> None:
    """Register `train` (with `diffusion` and `spade`) on the `studio` subparsers."""
    train = commands.add_parser("train", help="train the starter models on paired data")
    kinds = train.add_subparsers(dest="train_command", metavar="MODEL", required=True)
    diff = kinds.add_parser(
        "diffusion", help="the starter diffusion (label map + style words -> 128² picture)"
    )
    diff.add_argument("--data", type=Path, required=True, help="paired dataset folder")
    diff.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, samples)")
    diff.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    diff.add_argument("--max-minutes", type=float, default=None, help="or after this long")
    diff.add_argument("--batch", type=int, default=8)
    diff.add_argument("--lr", type=float, default=3e-4)
    diff.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    diff.add_argument("--seed", type=int, default=0)
    diff.add_argument("--device", default="cpu", help="cpu, cuda, mps (default cpu)")
    diff.add_argument(
        "--precision", choices=["fp32", "bf16"], default="fp32", help="bf16 autocast is faster"
    )
    diff.add_argument("--holdout", type=int, default=200, help="last ids kept out of training")
    diff.add_argument("--sample-every", type=float, default=10.0, help="minutes between grids")
    diff.add_argument("--checkpoint-every", type=int, default=100, help="steps")
    diff.add_argument("--tiny", action="store_true", help="a tiny 32² model (for trying it out)")
    diff.add_argument("--resume", action="store_true", help="continue from RUN's last checkpoint")
    diff.add_argument(
        "--init", default=None, help="start from this starter folder's weights (fine-tuning)"
    )
    _add_spade(kinds)


def _add_spade(kinds) -> None:
    spade = kinds.add_parser(
        "spade", help="the starter SPADE (label map -> picture GAN for the live draft)"
    )
    spade.add_argument("--data", type=Path, required=True, help="paired dataset folder")
    spade.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, samples)")
    spade.add_argument("--size", type=int, default=128, help="pictures resized to this (square)")
    spade.add_argument("--crop", type=int, default=128, help="random crop side (multiple of 32)")
    spade.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    spade.add_argument("--max-minutes", type=float, default=None, help="or after this long")
    spade.add_argument("--batch", type=int, default=4)
    spade.add_argument("--lr-g", type=float, default=1e-4, help="generator learning rate")
    spade.add_argument("--lr-d", type=float, default=4e-4, help="discriminator learning rate")
    spade.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    spade.add_argument("--seed", type=int, default=0)
    spade.add_argument("--device", default="cpu", help="cpu, cuda, mps (default cpu)")
    spade.add_argument("--holdout", type=int, default=200, help="last ids kept out of training")
    spade.add_argument("--sample-every", type=float, default=5.0, help="minutes between grids")
    spade.add_argument("--checkpoint-every", type=int, default=200, help="steps")
    spade.add_argument("--resume", action="store_true", help="continue from RUN's last checkpoint")
    spade.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="KEY=VALUE[,VALUE]",
        help="train on pairs whose meta matches (repeatable), e.g. --only time=day",
    )


def handles(args: argparse.Namespace) -> bool:
    return getattr(args, "command", None) == "train"


def run(args: argparse.Namespace) -> int:
    from studio.errors import StudioError

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        train, cfg = _spade(args) if args.train_command == "spade" else _diffusion(args)
        train(cfg, resume=args.resume, log=log)
    except StudioError as exc:
        print(f"studio: error: {exc.message}", file=sys.stderr)
        if exc.details:
            print(exc.details, file=sys.stderr)
        return 2
    return 0


def _spade(args: argparse.Namespace):
    from studio.training.spade_train import SpadeTrainConfig, train

    cfg = SpadeTrainConfig(
        data=str(args.data),
        out=str(args.out),
        size=args.size,
        crop=args.crop,
        steps=args.steps,
        max_minutes=args.max_minutes,
        batch=args.batch,
        lr_g=args.lr_g,
        lr_d=args.lr_d,
        seed=args.seed,
        threads=args.threads,
        device=args.device,
        holdout=args.holdout,
        sample_every_minutes=args.sample_every,
        only=tuple(args.only),
        checkpoint_every=args.checkpoint_every,
    )
    return train, cfg


def _init_config(folder: str):
    from studio.engine.starter.model import read_starter_config

    return read_starter_config(folder)


def _diffusion(args: argparse.Namespace):
    from studio.engine.starter.model import StarterConfig, tiny_config
    from studio.training.diffusion_train import DiffusionTrainConfig, train

    cfg = DiffusionTrainConfig(
        data=str(args.data),
        out=str(args.out),
        steps=args.steps,
        max_minutes=args.max_minutes,
        batch=args.batch,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        device=args.device,
        precision=args.precision,
        holdout=args.holdout,
        sample_every_minutes=args.sample_every,
        checkpoint_every=args.checkpoint_every,
        model=_init_config(args.init)
        if args.init
        else tiny_config()
        if args.tiny
        else StarterConfig(),
        init=args.init,
    )
    return train, cfg
