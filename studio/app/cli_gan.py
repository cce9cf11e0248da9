"""Headless GAN commands: `studio generate --labels …` with a SPADE model, `studio translate`."""

from __future__ import annotations

import argparse
import secrets
import sys
import threading
import time
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


def _add_generate_command(commands) -> None:
    gen = commands.add_parser("generate", help="paint a label map into a photo with SPADE")
    gen.add_argument("--model", required=True, type=Path, help="latest_net_G.pth / .safetensors")
    gen.add_argument("--seed", type=int, default=None, help="default: random")
    gen.add_argument("--out", type=Path, required=True, help="output PNG")
    gen.add_argument("--device", choices=["cpu", "cuda", "mps"], default=None)
    gen.add_argument("--quiet", action="store_true", help="no progress on stderr")
    add_generate_arguments(gen)


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


def is_spade_checkpoint(model: str | Path) -> bool:
    """Whether --model names a SPADE generator file (read from its key names, not loaded)."""
    from studio.engine.gan.inspect import classify

    path = Path(model)
    if not path.is_file():
        return False
    info = classify(path)
    return info is not None and info.kind == "spade"


def handles(args: argparse.Namespace) -> bool:
    """Whether `run` is the command for these arguments."""
    if args.command == "translate":
        return True
    if args.command != "generate" or getattr(args, "labels", None) is None:
        return False
    return not getattr(args, "controlnet", None) and is_spade_checkpoint(args.model)


def _fail(message: str) -> int:
    print(f"studio: error: {message}", file=sys.stderr)
    return 2


def read_labels(path: Path, label_set: str | None):
    """HxW uint16 ids and the label set they are in (from the flag, else the PNG's palette)."""
    import numpy as np

    from studio.engine.gan.labels import guess_label_set
    from studio.io.images import ImageImportError, open_checked

    with open_checked(path) as image:
        try:
            image.load()
            mode = image.mode
            ids = np.array(image, dtype=np.int64) if mode in ("P", "L", "I", "I;16") else None
            palette = image.getpalette() if mode == "P" else None
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageImportError(f"{path.name} is damaged or incomplete.", str(exc)) from exc
    if ids is None:
        raise ValueError(
            f"{path.name} is a colour ({mode}) image; give an indexed or greyscale PNG of ids"
        )
    if ids.min() < 0 or ids.max() > 65535:
        raise ValueError(f"{path.name} holds ids outside 0..65535")
    if label_set is None and palette is not None:
        label_set = guess_label_set(ids, np.array(palette, dtype=np.uint8).reshape(-1, 3))
    if label_set is None:
        raise ValueError(f"cannot tell which label set {path.name} uses; pass --label-set")
    return ids.astype(np.uint16), label_set


def _read_rgb(path: Path):
    from studio.io.images import load_image

    return load_image(path)[:, :, :3]


def _progress(args: argparse.Namespace):
    def on_step(preview) -> None:
        if not args.quiet and preview.phase == "loading":
            print("loading model…", file=sys.stderr)

    return on_step


def _request(args: argparse.Namespace):
    from studio.engine.gan.requests import SpadeRequest, TranslateRequest

    seed = args.seed if args.seed is not None else secrets.randbelow(2**32)
    if args.command == "translate":
        return TranslateRequest(
            str(args.model),
            _read_rgb(args.image),
            args.direction,
            seed,
            dropout=False if args.no_dropout else None,
            tile=args.tile,
            device=args.device,
        )
    ids, label_set = read_labels(args.labels, args.label_set)
    style = _read_rgb(args.style_image) if args.style_image else None
    return SpadeRequest(str(args.model), ids, label_set, seed, style, device=args.device)


def run(args: argparse.Namespace) -> int:
    """Run SPADE `generate --labels` or `translate`; 0 on success, 2 on a user error."""
    from studio.app.logs import setup_logging
    from studio.errors import StudioError
    from studio.io.png import save_png

    setup_logging(console=True)
    try:
        request = _request(args)
        from studio.engine.gan.engine import GanEngine

        started = time.perf_counter()
        result = GanEngine().run(request, _progress(args), threading.Event())
    except (StudioError, ValueError) as exc:
        return _fail(getattr(exc, "message", str(exc)))
    save_png(args.out, result.image, result.recipe)
    unknown = result.recipe.get("unknown_labels")
    if unknown:
        names = ", ".join(f"{k} ({v} px)" for k, v in unknown.items())
        print(
            f"warning: classes this model does not know, left as dontcare: {names}", file=sys.stderr
        )
    if not args.quiet:
        took = time.perf_counter() - started
        print(f"wrote {args.out} (seed {request.seed}, {took:.1f} s)", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (`python -m studio.app.cli_gan …`) until `studio` wires these in."""
    parser = argparse.ArgumentParser(prog="studio-gan", description=__doc__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_generate_command(commands)
    add_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "generate" and args.labels is None:
        parser.error("generate needs --labels (prompt generation is `studio generate`)")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
