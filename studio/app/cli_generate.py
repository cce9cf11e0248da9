"""`studio generate` and `studio translate`: the same family request building and the same
router as the window, from flags and files instead of a document."""

from __future__ import annotations

import argparse
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

DEFAULT_CFG = 7.0  # the Generate dock's default for Stable Diffusion


def fail(message: str) -> int:
    print(f"studio: error: {message}", file=sys.stderr)
    return 2


def say(args: argparse.Namespace, text: str) -> None:
    if not getattr(args, "quiet", False):
        print(text, file=sys.stderr)


def choose_model(args: argparse.Namespace) -> str:
    """--model, else the model the app would choose (the bundled starter on a fresh install)."""
    from studio.engine.models.registry import pick_default, scan
    from studio.errors import StudioError
    from studio.io.paths import model_search_dirs

    if args.model is not None:
        return str(args.model)
    dirs = model_search_dirs()
    chosen = pick_default(scan(list(dirs), kinds=None))
    if chosen is None:
        raise StudioError(
            "No model is installed: give one with --model, or add one with `studio models add`.",
            "Looked in " + ", ".join(str(d) for d in dirs),
        )
    say(args, f"no --model given: using {chosen.name} ({chosen.path}), as the app would")
    return chosen.path


def mode_of(args: argparse.Namespace) -> str:
    """The Generate mode the flags ask for: what the artist would pick as a tab."""
    if args.command == "translate":
        return "translate"
    if getattr(args, "mask", None) or getattr(args, "outpaint", None):
        return "inpaint"
    if getattr(args, "labels", None):
        return "paint"
    return "prompt"


def read_labels(path: Path) -> dict[str, Any]:
    """A label PNG through the checked loader (limits, EXIF orientation like the picture):
    ids (indexed or grey; an indexed PNG's colours kept for guessing its label set) or, for an
    RGB picture, a ready colour map."""
    from studio.io.labels import load_label_ids

    found = load_label_ids(path)
    if found.ids is None:
        return {"colour_map": found.rgb}
    return {"labels": found.ids, "label_colours": found.palette}


def read_rgb(path: Path):
    from studio.io.images import load_rgb

    return load_rgb(path)


def read_mask(path: Path):
    from studio.io.images import load_mask

    return load_mask(path)  # size limits, EXIF rotation like the picture, 16-bit scaled


def inputs_from_files(args: argparse.Namespace, mode: str):
    """Inputs from the flags' files; the canvas is the picture's size, else --width/--height."""
    from studio.engine.inputs import Inputs

    picture = mask = None
    path = getattr(args, "image", None) or getattr(args, "init_image", None)
    if path is not None:
        picture = read_rgb(path)
    if getattr(args, "mask", None):
        mask = read_mask(args.mask)
    if getattr(args, "outpaint", None):
        from studio.engine.diffusion.inpaint import outpaint

        if picture is None or mask is not None:
            raise ValueError("--outpaint needs --init-image and no --mask")
        picture, mask = outpaint(picture, *args.outpaint)
    labels: dict[str, Any] = {}
    if getattr(args, "labels", None):
        labels = read_labels(args.labels)
    if picture is not None:
        canvas = (picture.shape[1], picture.shape[0])
    elif labels.get("labels") is not None:
        canvas = (labels["labels"].shape[1], labels["labels"].shape[0])
    else:
        canvas = (getattr(args, "width", 512), getattr(args, "height", 512))
    if mode == "paint" and getattr(args, "labels", None) and picture is None:
        canvas = (getattr(args, "width", canvas[0]), getattr(args, "height", canvas[1]))
    reference = read_rgb(args.style_image) if getattr(args, "style_image", None) else None
    return Inputs(
        canvas,
        picture=picture,
        mask=mask,
        reference=reference,
        label_space=getattr(args, "label_set", None),
        **labels,
    )


def params_from_flags(args: argparse.Namespace, defaults: dict[str, Any] | None = None):
    """GenerateParams from the flags (names as in the Generate dock); a flag left out takes
    the model family's default where it has one (the starter's CFG), as in the window."""
    from studio.engine.inputs import GenerateParams

    seed = args.seed if args.seed is not None else secrets.randbelow(2**32)
    values: dict[str, Any] = dict(seed=seed, device=args.device)
    if args.command == "translate":
        values.update(
            direction=args.direction, dropout=False if args.no_dropout else None, tile=args.tile
        )
        return GenerateParams.from_values(values)
    values.update(
        prompt=args.prompt or "",
        negative_prompt=args.negative_prompt,
        steps=args.steps,
        guidance_scale=args.cfg
        if args.cfg is not None
        else (defaults or {}).get("guidance_scale", DEFAULT_CFG),
        width=args.width,
        height=args.height,
        sampler=args.sampler,
        strength=args.strength,
        inpaint_strength=args.strength,
        paint_strength=args.strength,
        dtype=args.dtype,
        mask_blur=args.mask_blur,
        only_masked=args.padding is not None,
        inpaint_padding=args.padding if args.padding is not None else 32,
        masked_content=args.masked_content,
        color_match=args.color_match,
        controlnet_path=str(args.controlnet or ""),
        control_scale=args.control_scale,
        paint_from_canvas=args.init_image is not None and not args.mask and not args.outpaint,
        label_set=args.label_set or "",
        loras=tuple(args.lora),
        fuse_loras=args.fuse_loras,
        embeddings=tuple(str(p) for p in getattr(args, "embedding", [])),
        regions=tuple(getattr(args, "region", [])),
        refiner_path=str(args.refiner or ""),
        refiner_switch=args.refiner_switch,
        batch_size=args.batch,
        batch_count=args.batch_count,
        variation_seed=args.variation_seed,
        variation_strength=args.variation_strength,
        few_step="" if args.few_step == "auto" else args.few_step,
        preview_decoder=str(args.preview_decoder or ""),
    )
    from studio.app.cli_stylegan import sample_values

    values.update(sample_values(args))
    return GenerateParams.from_values(values)


def build(args: argparse.Namespace):
    """(family, built request, inputs) for the flags; StudioError/ValueError if not ready."""
    from studio.engine.families import family_of_model
    from studio.engine.models.registry import inspect_folder
    from studio.errors import StudioError

    model = choose_model(args)
    info = inspect_folder(model)
    family = family_of_model(info)
    if family is None or not info.usable:
        raise StudioError(f"Studio cannot run {info.name}: {info.problem or 'unknown model'}.")
    mode = mode_of(args)
    if mode == "prompt" and not args.prompt and "sample" in family.modes:
        mode = "sample"  # no other mode's flags: a picture from the seed alone
    if mode not in family.modes:
        offered = ", ".join(family.modes) or "nothing"
        raise StudioError(f"{info.name} is a {family.title} model: it does {offered}, not {mode}.")
    if mode == "prompt" and not args.prompt:
        raise StudioError("--prompt is required (a picture from labels or a mask needs none)")
    params = params_from_flags(args, family.defaults)
    inputs = inputs_from_files(args, mode)
    return family, family.build_request(mode, str(model), params, inputs), inputs


def progress(args: argparse.Namespace):
    """on_step for the router: progress lines on stderr, previews into --preview-dir."""

    def on_step(preview) -> None:
        if preview.phase == "loading":
            say(args, "loading model…")
            return
        if getattr(args, "preview_dir", None) and preview.image is not None:
            from studio.io.png import save_png

            save_png(args.preview_dir / f"step-{preview.step:04d}.png", preview.image)
        if preview.total > 1:
            rate = preview.step / preview.elapsed if preview.elapsed else 0.0
            eta = (preview.total - preview.step) / rate if rate else 0.0
            say(args, f"step {preview.step}/{preview.total}  {rate:.2f} it/s  ETA {eta:.0f} s")

    return on_step


def outputs(out: Path, count: int) -> list[Path]:
    """out.png, out-2.png, out-3.png … for a batch."""
    return [out] + [out.with_name(f"{out.stem}-{i}{out.suffix}") for i in range(2, count + 1)]


def fitted(image, canvas: tuple[int, int]):
    """HxWx3 resized to the canvas, as the window does when a result must line up with it."""
    import numpy as np
    from PIL import Image

    width, height = canvas
    if image.shape[:2] == (height, width):
        return image
    resized = Image.fromarray(np.ascontiguousarray(image)).resize(
        (width, height), Image.Resampling.LANCZOS
    )
    return np.asarray(resized)


def save_results(args: argparse.Namespace, built, result, canvas) -> list[Path]:
    """Every image of the result as a PNG with its recipe (the recipe the window writes)."""
    from studio.io.png import save_png

    recipe = dict(result.recipe)
    if built.fit_to_canvas:
        recipe["fit_to_canvas"] = True
    images = list(getattr(result, "images", ()) or (result.image,))
    paths = outputs(args.out, len(images))
    seeds = recipe.get("seeds") or [getattr(result.request, "seed", None)]
    for index, (path, image) in enumerate(zip(paths, images, strict=True)):
        own = dict(recipe)
        if len(images) > 1 and index < len(seeds):
            own["seed"] = seeds[index]
        save_png(path, fitted(image, canvas) if built.fit_to_canvas else image, own)
    return paths


def run(args: argparse.Namespace) -> int:
    """`studio generate` / `studio translate`: 0 on success, 2 on a user error."""
    from studio.app.logs import setup_logging
    from studio.engine.router import EngineRouter
    from studio.errors import StudioError

    setup_logging(console=True)
    try:
        family, built, inputs = build(args)
        _check_targets(args)
        started = time.perf_counter()
        result = EngineRouter().run(built.request, progress(args), threading.Event())
    except (StudioError, ValueError) as exc:
        return fail(getattr(exc, "message", None) or str(exc))
    if result is None:
        return fail("cancelled before any step ran")
    for note in built.notes:
        say(args, f"note: {note}")
    unknown = result.recipe.get("unknown_labels")
    if unknown:
        names = ", ".join(f"{k} ({v} px)" for k, v in unknown.items())
        print(f"warning: classes this model does not know, left as dontcare: {names}",
              file=sys.stderr)  # fmt: skip
    try:
        paths = save_results(args, built, result, inputs.canvas)
    except OSError as exc:  # the target went away or filled up during the run: keep the work
        return _save_elsewhere(args, built, result, inputs.canvas, exc)
    if getattr(args, "export_run", None) is not None:
        code = _export_run(args, result)
        if code:
            return code
    seed = getattr(built.request, "seed", "-")
    names = ", ".join(str(p) for p in paths)
    say(args, f"wrote {names} ({family.title}, seed {seed}, {time.perf_counter() - started:.1f} s)")
    return 0


def _check_targets(args: argparse.Namespace) -> None:
    """Refuse outputs that cannot be written before minutes of work, not after: --out (a
    regular file in a writable folder with room), --preview-dir, --export-run."""
    from studio.io.atomic import NotWritableError, check_writable

    try:
        if getattr(args, "out", None) is not None:
            check_writable(args.out)
        if getattr(args, "preview_dir", None):
            check_writable(args.preview_dir, folder=True)
        if getattr(args, "export_run", None) is not None:
            from studio.io.run_export import ExportError, check_target, export_kind

            try:
                check_target(args.export_run)
            except ExportError as exc:
                raise ValueError(exc.message) from exc
            check_writable(args.export_run, folder=export_kind(args.export_run) == "PNG")
    except NotWritableError as exc:
        raise ValueError(f"cannot write the output: {exc.strerror}") from exc


def _save_elsewhere(args: argparse.Namespace, built, result, canvas, exc: OSError) -> int:
    """--out failed after the run: write the pictures to Studio's data folder instead and say
    where, so minutes of work are not lost; exit 2 either way."""
    from studio.io.paths import user_data_dir

    wanted = args.out
    args.out = user_data_dir() / "unsaved" / Path(wanted).name
    try:
        paths = save_results(args, built, result, canvas)
    except OSError:
        return fail(f"cannot write {wanted}: {exc.strerror or exc}; the pictures are lost")
    kept = ", ".join(str(p) for p in paths)
    return fail(f"cannot write {wanted}: {exc.strerror or exc}; the pictures were saved to {kept}")


def _export_run(args: argparse.Namespace, result) -> int:
    """Write the run's recorded steps (`--export-run`); nonzero on failure."""
    from studio.io.run_export import ExportError, export_run

    if result.record is None or not result.record.frames:
        return fail("the run recorded no steps to export")
    try:
        out = export_run(result.record, args.export_run, args.export_view, args.export_fps)
    except ExportError as exc:
        return fail(exc.message)
    say(args, f"wrote {len(result.record.frames)} steps to {out}")
    return 0
