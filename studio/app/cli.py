"""`studio` command line: launch the app, or run the engine headless (`studio generate …`)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import studio
from studio.engine.diffusion.samplers import DEFAULT_SAMPLER, sampler_names


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studio",
        description="Studio: make and edit images with generative models. "
        "Run without a command to open the app.",
    )
    parser.add_argument("--version", action="version", version=f"studio {studio.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("gui", help="open the app (the default)")
    gen = commands.add_parser("generate", help="generate an image without opening the app")
    gen.add_argument("--model", required=True, help="a Stable Diffusion diffusers folder")
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--negative-prompt", default="")
    gen.add_argument("--steps", type=int, default=20)
    gen.add_argument("--cfg", type=float, default=7.0, help="CFG (guidance) scale")
    gen.add_argument("--seed", type=int, default=None, help="default: random")
    gen.add_argument("--width", type=int, default=512)
    gen.add_argument("--height", type=int, default=512)
    gen.add_argument(
        "--sampler",
        default=DEFAULT_SAMPLER,
        choices=sampler_names(),
        metavar="NAME",
        help="one of: " + ", ".join(sampler_names()),
    )
    gen.add_argument("--init-image", type=Path, help="PNG to start from (image to image)")
    gen.add_argument("--strength", type=float, default=0.75)
    gen.add_argument("--out", type=Path, required=True, help="output PNG")
    gen.add_argument("--preview-dir", type=Path, help="write every step preview here")
    gen.add_argument("--device", choices=["cpu", "cuda", "mps"], default=None)
    gen.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default=None)
    gen.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def _fail(message: str) -> int:
    print(f"studio: error: {message}", file=sys.stderr)
    return 2


def _load_init(path: Path):
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"cannot read the init image {path}: {exc}") from exc


def generate(args: argparse.Namespace) -> int:
    import secrets

    from studio.app.logs import setup_logging
    from studio.engine.errors import StudioError
    from studio.engine.requests import GenerationRequest
    from studio.io.png import save_png

    setup_logging(console=True)
    try:
        init = _load_init(args.init_image) if args.init_image else None
        request = GenerationRequest(
            model_path=str(args.model),
            prompt=args.prompt,
            negative_prompt=args.negative_prompt,
            num_inference_steps=args.steps,
            guidance_scale=args.cfg,
            seed=args.seed if args.seed is not None else secrets.randbelow(2**32),
            width=args.width,
            height=args.height,
            sampler=args.sampler,
            init_image=init,
            strength=args.strength,
            device=args.device,
            dtype=args.dtype,
        )
    except ValueError as exc:
        return _fail(str(exc))
    if args.preview_dir:
        args.preview_dir.mkdir(parents=True, exist_ok=True)

    def on_step(preview) -> None:
        if preview.phase == "loading":
            if not args.quiet:
                print("loading model…", file=sys.stderr)
            return
        if args.preview_dir and preview.image is not None:
            save_png(args.preview_dir / f"step-{preview.step:04d}.png", preview.image)
        if not args.quiet:
            rate = preview.step / preview.elapsed if preview.elapsed else 0.0
            eta = (preview.total - preview.step) / rate if rate else 0.0
            print(
                f"step {preview.step}/{preview.total}  {rate:.2f} it/s  ETA {eta:.0f} s",
                file=sys.stderr,
            )

    from studio.engine.diffusion.engine import DiffusionEngine

    started = time.perf_counter()
    try:
        result = DiffusionEngine().run(request, on_step, threading.Event())
    except StudioError as exc:
        return _fail(exc.message)
    save_png(args.out, result.image, result.recipe)
    if not args.quiet:
        print(
            f"wrote {args.out} (seed {request.seed}, {time.perf_counter() - started:.1f} s)",
            file=sys.stderr,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "generate":
        return generate(args)
    from studio.app.main import run_gui

    return run_gui()


if __name__ == "__main__":
    sys.exit(main())
