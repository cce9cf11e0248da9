"""`studio` command line: launch the app, or run the engine headless (`studio generate …`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import studio
from studio.engine.diffusion.samplers import DEFAULT_SAMPLER, sampler_names
from studio.units import format_bytes


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
    gen.add_argument(
        "--model",
        default=None,
        help="any model Studio runs (a diffusers or starter folder, a .safetensors file, a GAN "
        "generator); default: the model the app would choose (the bundled starter)",
    )
    gen.add_argument("--prompt", default=None, help="required unless --labels or --mask")
    gen.add_argument("--negative-prompt", default="")
    gen.add_argument("--steps", type=int, default=20)
    gen.add_argument(
        "--cfg", type=float, default=None, help="CFG (guidance) scale; default 7 (the starter: 3)"
    )
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
    gen.add_argument(
        "--export-run",
        type=Path,
        metavar="RUN.gif|RUN.webp|RUN.mp4|DIR",
        help="write the recorded steps as an animation (MP4 needs ffmpeg) or a PNG folder",
    )
    gen.add_argument(
        "--export-view", choices=["x0", "xt", "delta", "noise"], default="x0", help="default x0"
    )
    gen.add_argument("--export-fps", type=float, default=8.0)
    gen.add_argument("--device", choices=["cpu", "cuda", "mps"], default=None)
    gen.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default=None)
    gen.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _mode_flags(gen)
    from studio.app import cli_gan  # GAN flags join `generate`; `translate` is theirs

    cli_gan.add_generate_arguments(gen)
    from studio.app import cli_stylegan  # StyleGAN sample flags join `generate`

    cli_stylegan.add_generate_arguments(gen)
    cli_gan.add_commands(commands)
    from studio.app import cli_data  # `studio data synth`

    cli_data.add_commands(commands)
    from studio.app import cli_eval  # `studio eval`, `studio eval train-segmenter`

    cli_eval.add_commands(commands)
    from studio.app import cli_train  # `studio train diffusion`

    cli_train.add_commands(commands)
    models = commands.add_parser("models", help="list, add, convert or download models")
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="what the registry recognises in a folder")
    listing.add_argument("dirs", nargs="*", type=Path, help="default: the model folders")
    convert = actions.add_parser("convert", help="a .ckpt/.pt/.pth/.pkl file to .safetensors")
    convert.add_argument("file", type=Path)
    convert.add_argument("--out", type=Path, default=None)
    add = actions.add_parser(
        "add", help="copy (or move) model files/folders into the models folder; pickles convert"
    )
    add.add_argument("paths", nargs="+", type=Path)
    add.add_argument("--move", action="store_true", help="move instead of copy")
    add.add_argument("--to", type=Path, default=None, help="default: the user models folder")
    from studio.app import cli_download  # `studio models download`

    cli_download.add_command(actions)
    return parser


def _region(text: str) -> tuple[str, str]:
    """CLASS=WORDS for a regional prompt."""
    name, sep, words = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected CLASS=WORDS, got {text!r}")
    return name.strip(), words.strip()


def _lora(text: str) -> tuple[str, float]:
    """PATH[:WEIGHT] (the weight defaults to 1; a Windows drive colon is not a weight)."""
    path, sep, weight = text.rpartition(":")
    if sep and path and not weight.startswith(("\\", "/")):
        try:
            return path, float(weight)
        except ValueError:
            pass
    return text, 1.0


def _padding(text: str) -> int | None:
    return None if text.lower() in ("none", "full", "whole") else int(text)


def _mode_flags(gen: argparse.ArgumentParser) -> None:
    inp = gen.add_argument_group("inpainting (with --init-image)")
    inp.add_argument("--mask", type=Path, help="PNG, white = repaint")
    inp.add_argument("--mask-blur", type=int, default=6, help="feather in px (default 6)")
    inp.add_argument(
        "--padding",
        type=_padding,
        default=32,
        help="context px around the mask, rendered at full size; 'none' = whole picture",
    )
    inp.add_argument(
        "--masked-content", choices=["original", "fill", "latent noise"], default="original"
    )
    inp.add_argument("--color-match", action="store_true")
    inp.add_argument(
        "--outpaint",
        nargs=4,
        type=int,
        metavar=("LEFT", "TOP", "RIGHT", "BOTTOM"),
        help="grow the init image by these px and paint the new band",
    )
    sem = gen.add_argument_group("semantic (ControlNet seg)")
    sem.add_argument(
        "--labels",
        type=Path,
        help="indexed or 16-bit PNG of ADE20K ids + 1 (0 = unlabeled), or an RGB colour map",
    )
    sem.add_argument("--controlnet", type=Path, help="a seg ControlNet folder or file")
    sem.add_argument("--control-scale", type=float, default=1.0)
    sem.add_argument(
        "--region",
        action="append",
        type=_region,
        default=[],
        metavar="CLASS=WORDS",
        help="words for one class of --labels only (regional prompt), e.g. 'sky=stormy clouds'",
    )
    more = gen.add_argument_group("more")
    more.add_argument("--lora", action="append", type=_lora, default=[], metavar="PATH[:WEIGHT]")
    more.add_argument("--fuse-loras", action="store_true")
    more.add_argument(
        "--embedding",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="a textual-inversion file; a prompt uses it by its file name",
    )
    more.add_argument("--refiner", type=Path, help="SDXL refiner taking over the last steps")
    more.add_argument("--refiner-switch", type=float, default=0.8)
    more.add_argument("--batch", type=int, default=1, help="images per run")
    more.add_argument("--batch-count", type=int, default=1, help="runs (seeds continue)")
    more.add_argument("--variation-seed", type=int, default=None)
    more.add_argument("--variation-strength", type=float, default=0.0)
    more.add_argument("--few-step", choices=["auto", "off", "turbo", "lcm"], default="auto")
    more.add_argument(
        "--preview-decoder", type=Path, help="a TAESD decoder for previews, or 'vae' (slow)"
    )


def _fail(message: str) -> int:
    print(f"studio: error: {message}", file=sys.stderr)
    return 2


def models_command(args: argparse.Namespace) -> int:
    from studio.errors import StudioError

    if args.models_command == "convert":
        from studio.engine.models.checkpoints import ConvertRequest

        try:
            out = ConvertRequest(str(args.file), args.out and str(args.out)).run()
        except StudioError as exc:
            return _fail(exc.message)
        print(f"wrote {out}")
        return 0
    if args.models_command == "add":
        return _models_add(args)
    if args.models_command == "download":
        from studio.app import cli_download

        return cli_download.run(args)
    from studio.engine.models.registry import scan
    from studio.io.paths import model_search_dirs

    dirs = args.dirs or model_search_dirs()
    found = scan(list(dirs), kinds=None)
    if not found:
        print("no models found in " + ", ".join(str(d) for d in dirs))
    for info in found:
        size = format_bytes(info.size_bytes)
        tags = f" [{info.variant}]" if info.variant else ""
        status = "ok" if info.usable else f"REJECTED: {info.problem}"
        print(f"{info.name}\t{info.kind}\t{info.family}{tags}\t{info.format}\t{size}\t{status}")
        for note in info.notes:  # assumptions behind the tags, and the artist's settings
            print(f"\tnote: {note}")
    return 0


def _models_add(args: argparse.Namespace) -> int:
    """Same checks and steps as the model manager's Add (nothing half-copied on failure)."""
    from studio.engine.models.importing import install, plan_import
    from studio.errors import StudioError
    from studio.io.paths import user_models_dir

    dest = args.to or user_models_dir()
    failed = 0
    for path in args.paths:
        try:
            plan = plan_import(path, dest)
            result = install(plan, move=args.move)
        except StudioError as exc:
            _fail(exc.message)  # one `studio: error:` line per refused path
            failed += 1
            continue
        how = "converted to .safetensors" if plan.convert else ("moved" if args.move else "copied")
        print(f"added {result.info.name} ({plan.kind_label}, {how}) to {dest}")
        if result.leftovers:
            print(f"  the original is still at {result.leftovers[0]}; delete it when you like")
    return 2 if failed else 0


OPENABLE = (".studio", ".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def _file_to_open(argv: list[str]) -> str | None:
    """`studio FILE`: a project or an image to open in the window (what the desktop runs when
    an artist double-clicks a .studio file)."""
    if len(argv) != 1 or argv[0].startswith("-"):
        return None
    path = Path(argv[0])
    return str(path) if path.suffix.lower() in OPENABLE else None


def main(argv: list[str] | None = None) -> int:
    from studio.engine.hub.transfer import offline_by_default

    offline_by_default()  # only the model manager's downloads reach the network
    argv = sys.argv[1:] if argv is None else list(argv)
    to_open = _file_to_open(argv)
    if to_open is not None:
        if not Path(to_open).is_file():
            return _fail(f"{to_open} does not exist (or is not a file)")
        from studio.app.main import run_gui

        return run_gui(open_path=to_open)
    args = _parser().parse_args(argv)
    if args.command in ("generate", "translate"):  # one way in for every family
        from studio.app import cli_generate

        return cli_generate.run(args)
    from studio.app import cli_data

    if cli_data.handles(args):
        return cli_data.run(args)
    from studio.app import cli_eval

    if cli_eval.handles(args):
        return cli_eval.run(args)
    from studio.app import cli_train

    if cli_train.handles(args):
        return cli_train.run(args)
    if args.command == "models":
        return models_command(args)
    from studio.app.main import run_gui

    return run_gui()


if __name__ == "__main__":
    sys.exit(main())
