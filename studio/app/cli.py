"""`studio` command line: launch the app, or run the engine headless (`studio generate …`)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
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
        "--model", required=True, help="a diffusers folder or a single .safetensors/.ckpt file"
    )
    gen.add_argument("--prompt", default=None, help="required except for SPADE (--labels)")
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
    convert = actions.add_parser("convert", help="a .ckpt/.pt/.pth file to .safetensors")
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
    more = gen.add_argument_group("more")
    more.add_argument("--lora", action="append", type=_lora, default=[], metavar="PATH[:WEIGHT]")
    more.add_argument("--fuse-loras", action="store_true")
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


def _load_init(path: Path):
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"cannot read the init image {path}: {exc}") from exc


def _load_mask(path: Path):
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L"))
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"cannot read the mask {path}: {exc}") from exc


def _load_labels(path: Path) -> dict:
    """Label ids (indexed or 16-bit grey PNG) or a ready colour map (RGB PNG)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.mode in ("P", "L", "I", "I;16"):
                return {"label_map": np.asarray(image).astype(np.uint16)}
            return {"control_image": np.asarray(image.convert("RGB"))}
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"cannot read the labels {path}: {exc}") from exc


def _mode_fields(args: argparse.Namespace) -> dict:
    fields: dict = dict(
        mask_blur=args.mask_blur,
        inpaint_padding=args.padding,
        masked_content=args.masked_content,
        color_match=args.color_match,
        control_scale=args.control_scale,
        loras=tuple(args.lora),
        fuse_loras=args.fuse_loras,
        refiner_switch=args.refiner_switch,
        batch_size=args.batch,
        batch_count=args.batch_count,
        variation_seed=args.variation_seed,
        variation_strength=args.variation_strength,
        few_step=None if args.few_step == "auto" else args.few_step,
    )
    if args.mask:
        fields["mask"] = _load_mask(args.mask)
    if args.outpaint:
        from studio.engine.diffusion.inpaint import outpaint

        if args.init_image is None or args.mask:
            raise ValueError("--outpaint needs --init-image and no --mask")
        fields["init_image"], fields["mask"] = outpaint(_load_init(args.init_image), *args.outpaint)
    if args.labels:
        fields.update(_load_labels(args.labels))
    for flag, name in (
        ("controlnet", "controlnet_path"),
        ("refiner", "refiner_path"),
        ("preview_decoder", "preview_decoder"),
    ):
        if getattr(args, flag):
            fields[name] = str(getattr(args, flag))
    return fields


def _outputs(out: Path, count: int) -> list[Path]:
    """out.png, out-2.png, out-3.png … for a batch."""
    return [out] + [out.with_name(f"{out.stem}-{i}{out.suffix}") for i in range(2, count + 1)]


def models_command(args: argparse.Namespace) -> int:
    from studio.errors import StudioError

    if args.models_command == "convert":
        from studio.engine.models.checkpoints import convert_to_safetensors

        try:
            out = convert_to_safetensors(args.file, args.out)
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
            print(f"error: {exc.message}", file=sys.stderr)
            failed += 1
            continue
        how = "converted to .safetensors" if plan.convert else ("moved" if args.move else "copied")
        print(f"added {result.info.name} ({plan.kind_label}, {how}) to {dest}")
        if result.leftovers:
            print(f"  the original is still at {result.leftovers[0]}; delete it when you like")
    return 1 if failed else 0


def generate(args: argparse.Namespace) -> int:
    import secrets

    from studio.app.logs import setup_logging
    from studio.engine.requests import GenerationRequest
    from studio.errors import StudioError
    from studio.io.png import save_png

    setup_logging(console=True)
    try:
        init = _load_init(args.init_image) if args.init_image else None
        fields = _mode_fields(args)
        init = fields.pop("init_image", init)
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
            **fields,
        )
    except ValueError as exc:
        return _fail(str(exc))
    if args.preview_dir:
        args.preview_dir.mkdir(parents=True, exist_ok=True)
    if args.export_run is not None:
        from studio.io.run_export import ExportError, check_target

        try:
            check_target(args.export_run)  # before the run, not after minutes of work
        except ExportError as exc:
            return _fail(exc.message)

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
    if result is None:
        return _fail("cancelled before any step ran")
    paths = _outputs(args.out, len(result.images))
    seeds = result.recipe.get("seeds", [request.seed])
    for index, (path, image) in enumerate(zip(paths, result.images, strict=True)):
        recipe = dict(result.recipe, seed=seeds[index] if index < len(seeds) else request.seed)
        save_png(path, image, recipe)
    if args.export_run is not None:
        code = _export_run(args, result)
        if code:
            return code
    if not args.quiet:
        names = ", ".join(str(p) for p in paths[: len(result.images)])
        print(
            f"wrote {names} (seed {request.seed}, {time.perf_counter() - started:.1f} s)",
            file=sys.stderr,
        )
    return 0


def _export_run(args: argparse.Namespace, result) -> int:
    """Write the run's recorded steps (`--export-run`); nonzero on failure."""
    from studio.io.run_export import ExportError, export_run

    if result.record is None or not result.record.frames:
        return _fail("the run recorded no steps to export")
    try:
        out = export_run(result.record, args.export_run, args.export_view, args.export_fps)
    except ExportError as exc:
        return _fail(exc.message)
    if not args.quiet:
        print(f"wrote {len(result.record.frames)} steps to {out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    from studio.engine.hub.transfer import offline_by_default

    offline_by_default()  # only the model manager's downloads reach the network
    args = _parser().parse_args(argv)
    from studio.app import cli_gan

    if cli_gan.handles(args):  # a SPADE checkpoint with --labels, or `translate`
        return cli_gan.run(args)
    from studio.app import cli_data

    if cli_data.handles(args):
        return cli_data.run(args)
    from studio.app import cli_eval

    if cli_eval.handles(args):
        return cli_eval.run(args)
    from studio.app import cli_train

    if cli_train.handles(args):
        return cli_train.run(args)
    if args.command == "generate":
        if args.prompt is None:
            return _fail("--prompt is required (SPADE models with --labels need none)")
        return generate(args)
    if args.command == "models":
        return models_command(args)
    from studio.app.main import run_gui

    return run_gui()


if __name__ == "__main__":
    sys.exit(main())
