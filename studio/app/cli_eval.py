"""`studio eval`: measured quality table; `studio eval train-segmenter`: its instrument."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_commands(commands) -> None:
    """Register `eval` (table) and `eval train-segmenter` on the `studio` subparsers."""
    ev = commands.add_parser(
        "eval", help="measure label faithfulness and realism of label-to-picture models"
    )
    ev.add_argument("--data", type=Path, help="paired dataset (its last --holdout scenes)")
    ev.add_argument("--spade", type=Path, help="a SPADE checkpoint (.safetensors)")
    ev.add_argument("--diffusion", type=Path, help="a starter diffusion model folder")
    ev.add_argument("--segmenter", type=Path, help="default: the shipped evaluation segmenter")
    ev.add_argument("--count", type=int, default=200, help="held-out scenes to use (200)")
    ev.add_argument("--holdout", type=int, default=200, help="size of the held-out split (200)")
    ev.add_argument("--steps", type=int, default=20, help="diffusion steps (20)")
    ev.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    ev.add_argument("--batch", type=int, default=8, help="scenes per diffusion batch (8)")
    ev.add_argument("--no-flat", action="store_true", help="leave out the flat baseline")
    ev.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    ev.add_argument("--json", type=Path, help="also write the table as JSON here")
    ev.add_argument("--quiet", action="store_true", help="no progress on stderr")
    sub = ev.add_subparsers(dest="eval_command", metavar="ACTION")
    tr = sub.add_parser("train-segmenter", help="train the evaluation segmenter (resumable)")
    tr.add_argument("--data", type=Path, required=True, help="paired dataset folder")
    tr.add_argument("--out", type=Path, required=True, help="segmenter .safetensors to write")
    tr.add_argument("--steps", type=int, default=1500, help="optimizer steps (1500)")
    tr.add_argument("--batch", type=int, default=16, help="batch size (16)")
    tr.add_argument("--max-minutes", type=float, default=None, help="stop (resumably) after")
    tr.add_argument("--holdout", type=int, default=200, help="scenes held out (200)")
    tr.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--quiet", action="store_true", help="no progress on stderr")


def handles(args: argparse.Namespace) -> bool:
    return getattr(args, "command", None) == "eval"


def _fail(message: str) -> int:
    print(f"studio: error: {message}", file=sys.stderr)
    return 2


def _log(args: argparse.Namespace):
    if args.quiet:
        return lambda text: None
    return lambda text: print(text, file=sys.stderr, flush=True)


def _train(args: argparse.Namespace) -> int:
    from studio.training import segmenter
    from studio.training.segmenter_train import TrainSettings, train

    if args.steps < 1 or args.batch < 1:
        return _fail("--steps and --batch must be at least 1")
    segmenter.set_threads(args.threads)
    settings = TrainSettings(
        data=args.data, out=args.out, steps=args.steps, batch=args.batch, seed=args.seed,
        max_minutes=args.max_minutes, holdout=args.holdout,
    )  # fmt: skip
    train(settings, _log(args))
    return 0


def _generators(args: argparse.Namespace, loaded) -> list:
    from studio.training import eval_generators as gens

    out = []
    if not args.no_flat:
        if loaded.flat_colors is None:
            raise ValueError("this segmenter file stores no flat colours; use --no-flat")
        out.append(gens.FlatGenerator(loaded.flat_colors))
    if args.spade:
        out.append(gens.SpadeGenerator(args.spade))
    if args.diffusion:
        out.append(gens.DiffusionGenerator(args.diffusion, num_inference_steps=args.steps))
    return out


def _table(args: argparse.Namespace) -> int:
    from studio.training import evaluate, segmenter

    if args.data is None:
        return _fail("--data is required (a paired dataset folder)")
    if args.count < 2:
        return _fail("--count must be at least 2 (a Fréchet distance needs a covariance)")
    segmenter.set_threads(args.threads)
    loaded = segmenter.load(args.segmenter)
    try:
        generators = _generators(args, loaded)
    except ValueError as exc:
        return _fail(str(exc))
    rows = evaluate.evaluate(
        args.data, generators, loaded, args.count, args.holdout, _log(args), args.batch
    )
    print(evaluate.text_table(rows))
    held = loaded.info.get("held_out", {})
    note = (
        f"{rows[0].count} held-out scenes of {args.data.name}; segmenter "
        f"{args.segmenter.name if args.segmenter else 'resources/eval/segmenter.safetensors'} "
        f"({loaded.info.get('parameters', '?')} parameters, {loaded.size} px input). "
        "Fréchet distance on its pooled encoder features; the ceiling row's is real "
        "training-split renders vs real held-out renders."
    )
    if args.markdown:
        args.markdown.write_text(evaluate.markdown(rows, note), encoding="utf-8")
    if args.json:
        context = {"note": note, "data": str(args.data), "segmenter": loaded.info,
                   "spade": str(args.spade or ""), "diffusion": str(args.diffusion or ""),
                   "segmenter_held_out": held}  # fmt: skip
        args.json.write_text(evaluate.to_json(rows, context), encoding="utf-8")
    return 0


def run(args: argparse.Namespace) -> int:
    from studio.errors import StudioError

    try:
        if args.eval_command == "train-segmenter":
            return _train(args)
        return _table(args)
    except StudioError as exc:
        return _fail(exc.message)
