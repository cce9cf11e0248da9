"""Add a model from disk: recognise it, then copy/move (pickles converted) into a models folder.

Nothing is published half-done: everything is written under a hidden `.importing-<name>` first
(the registry skips dot-names), checked, then renamed into place in one step.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio.engine.models.catalog import describe, sidecars
from studio.engine.models.checkpoints import PICKLE_SUFFIXES
from studio.engine.models.registry import ModelInfo, inspect_folder
from studio.errors import Cancelled, ModelLoadError, StudioError
from studio.units import format_bytes

CHUNK = 4 * 2**20  # bytes per copy step (progress and cancel are checked between chunks)
SPACE_MARGIN = 64 * 2**20  # free space kept beyond the model itself
FIXABLE = "no .safetensors weights in the folder"  # a problem conversion solves
Progress = Callable[[int, int], None]  # (bytes done, bytes in total)


@dataclass(frozen=True)
class ImportPlan:
    """What adding one path will do: which model it is, where it goes, whether it converts."""

    source: str
    info: ModelInfo
    kind_label: str
    target: str  # final path inside the models folder
    convert: bool  # pickled weights become .safetensors
    total_bytes: int
    sidecars: tuple[str, ...] = ()
    in_place: bool = False  # a conversion next to the original (see plan_conversion)


@dataclass(frozen=True)
class ImportResult:
    """The installed model, and the originals the caller should trash (moved or converted)."""

    info: ModelInfo
    leftovers: tuple[str, ...] = ()


def _is_pickle(path: Path) -> bool:
    return path.suffix.lower() in PICKLE_SUFFIXES


def _folder_pickles(folder: Path) -> list[Path]:
    """Pickled weight files of a folder that have no .safetensors twin (those get converted)."""
    found = []
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and _is_pickle(p)):
        if not (file.parent / safetensors_name(file.name)).exists():
            found.append(file)
    return found


def safetensors_name(name: str) -> str:
    """The name diffusers/transformers look for: pytorch_model.bin -> model.safetensors."""
    stem = name.rsplit(".", 1)[0]
    if stem == "pytorch_model" or stem.startswith("pytorch_model."):
        stem = "model" + stem[len("pytorch_model") :]
    return stem + ".safetensors"


def plan_import(source: str | Path, models_dir: str | Path) -> ImportPlan:
    """Inspect `source` (file or folder); ModelLoadError in plain words if it cannot be added."""
    source, models_dir = Path(source), Path(models_dir)
    if not source.exists():
        raise ModelLoadError(f"{source.name} does not exist.", str(source))
    info = inspect_folder(source)  # pickles are read weights-only; a refusal raises here
    entry = describe(info, {})
    convert = _is_pickle(source) if source.is_file() else bool(_folder_pickles(source))
    if info.kind == "unknown":
        raise ModelLoadError(
            f"{source.name} is not a model Studio recognises: {info.problem}.", str(source)
        )
    if info.problem and not (convert and info.problem == FIXABLE):
        raise ModelLoadError(
            f"{source.name} looks like a {entry.kind_label} model, but Studio cannot use it: "
            f"{info.problem}.",
            str(source),
        )
    if source.is_dir() and any(source.rglob("*.bin.index.json")) and convert:
        raise ModelLoadError(
            f"{source.name} holds sharded pickled weights; convert them to .safetensors first.",
            str(source),
        )
    name = safetensors_name(source.name) if source.is_file() and convert else source.name
    target = models_dir / name
    if _inside(source, models_dir):
        raise ModelLoadError(f"{source.name} is already in the models folder.", str(source))
    if target.exists():
        raise ModelLoadError(
            f"A model named {name} is already installed; remove or rename it first.", str(target)
        )
    extra = tuple(str(p) for p in sidecars(source))
    _check_free_names(extra, source, target)
    total = info.size_bytes + sum(Path(p).stat().st_size for p in extra)
    return ImportPlan(str(source), info, entry.kind_label, str(target), convert, total, extra)


def plan_conversion(path: str | Path) -> ImportPlan:
    """Convert an installed pickled file to .safetensors next to it (the original is then the
    caller's to trash); side files named after the old file get a copy under the new name."""
    path = Path(path)
    if not (path.is_file() and _is_pickle(path)):
        raise ModelLoadError(
            f"{path.name} is not a pickled weight file; only .ckpt/.pt/.pth/.bin are converted."
        )
    info = inspect_folder(path)  # weights-only; a refused pickle raises here
    if info.kind == "unknown":
        raise ModelLoadError(f"{path.name} is not a model Studio recognises: {info.problem}.")
    target = path.with_name(safetensors_name(path.name))
    if target.exists():
        raise ModelLoadError(f"{target.name} already exists next to {path.name}.", str(target))
    extra = tuple(str(p) for p in sidecars(path) if _sidecar_target(p, path, target) != p)
    _check_free_names(extra, path, target)
    total = info.size_bytes + sum(Path(p).stat().st_size for p in extra)
    label = describe(info, {}).kind_label
    return ImportPlan(str(path), info, label, str(target), True, total, extra, in_place=True)


def _check_free_names(extra: tuple[str, ...], source: Path, target: Path) -> None:
    """Side files must not land on files already there (another model's, or a stray one)."""
    taken = [t for t in (_sidecar_target(Path(p), source, target) for p in extra) if t.exists()]
    if taken:
        raise ModelLoadError(
            f"{taken[0].name} is already in {taken[0].parent}; move it away to add {source.name}.",
            ", ".join(str(t) for t in taken),
        )


def _inside(path: Path, folder: Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(folder)
    return real == base or real.startswith(base + os.sep)


def install(
    plan: ImportPlan,
    move: bool = False,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ImportResult:
    """Carry out a plan; on any failure or cancel nothing is left in the models folder."""
    source, target = Path(plan.source), Path(plan.target)
    target.parent.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda _done, _total: None)
    stop = cancelled or (lambda: False)
    if move and not plan.convert and _same_device(source, target.parent):
        return _rename_into_place(plan)
    _check_space(plan, target.parent)
    tmp = target.with_name(f".importing-{target.name}")
    side_tmps = [(Path(p), _sidecar_target(Path(p), source, target)) for p in plan.sidecars]
    try:
        done = _write(source, tmp, plan, report, stop)
        for side, final in side_tmps:
            hidden = final.with_name(f".importing-{final.name}")
            done = _copy_file(side, hidden, done, plan.total_bytes, report, stop)
        info = inspect_folder(tmp)  # check what was written before publishing it
        # (in place, side files shared with the original are not under the hidden name)
        lost = plan.info.usable and not info.usable and not plan.in_place
        if info.kind != plan.info.kind or lost:
            raise ModelLoadError(
                f"The copy of {source.name} did not come out as the same model; nothing was added.",
                f"{info.kind}: {info.problem}",
            )
        if target.exists() or any(final.exists() for _side, final in side_tmps):
            raise ModelLoadError(f"{target.name} appeared in the models folder meanwhile.")
        for _side, final in side_tmps:
            final.with_name(f".importing-{final.name}").replace(final)
        tmp.replace(target)
    except BaseException:
        _remove(tmp)
        for _side, final in side_tmps:
            _remove(final.with_name(f".importing-{final.name}"))
        raise
    report(plan.total_bytes, plan.total_bytes)
    _carry_settings(source, target)
    leftovers = (plan.source, *plan.sidecars) if move or plan.in_place else ()
    return ImportResult(inspect_folder(target), leftovers)


def _carry_settings(source: Path, target: Path) -> None:
    """The artist's per-model settings kept by path in user data follow the model (a sidecar
    travels as a file)."""
    from studio.engine.models.settings import (
        ModelSettings,
        model_key,
        read_json_object,
        set_model_settings,
        settings_file,
    )

    try:
        stored = read_json_object(settings_file())
        entry = stored.get(model_key(source))
        if isinstance(entry, dict) and model_key(target) not in stored:
            set_model_settings(
                target, ModelSettings(entry.get("prediction"), entry.get("few_step"))
            )
    except StudioError:
        return  # a damaged settings file: the model is added, its settings start afresh


def _write(source: Path, tmp: Path, plan: ImportPlan, report: Progress, stop) -> int:
    if source.is_file():
        if plan.convert:
            _convert(source, tmp)
            report(source.stat().st_size, plan.total_bytes)
            return source.stat().st_size
        return _copy_file(source, tmp, 0, plan.total_bytes, report, stop)
    done = 0
    pickles = set(_folder_pickles(source))
    for file in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = file.relative_to(source)
        if _is_pickle(file) and file not in pickles:
            continue  # a .safetensors twin is there: the pickle is not needed
        if stop():
            raise Cancelled(f"Adding {source.name} was cancelled; nothing was added.")
        out = tmp / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        if file in pickles:
            _convert(file, out.with_name(safetensors_name(file.name)))
            done += file.stat().st_size
            report(done, plan.total_bytes)
        else:
            done = _copy_file(file, out, done, plan.total_bytes, report, stop)
    return done


def _convert(source: Path, out: Path) -> None:
    """Weights-only load (checkpoints.py, the same for every family), written as .safetensors."""
    from safetensors.torch import save_file

    from studio.engine.models.checkpoints import load_state_dict

    state = load_state_dict(source)
    if not state:
        raise ModelLoadError(f"{source.name} holds no weights; nothing to convert.", str(source))
    # Clone: safetensors refuses tensors that share storage (tied or sliced weights).
    tensors = {k: v.detach().clone().contiguous() for k, v in state.items()}
    save_file(tensors, str(out), metadata={"format": "pt", "converted_from": source.name})


def _copy_file(src: Path, out: Path, done: int, total: int, report: Progress, stop) -> int:
    with open(src, "rb") as reader, open(out, "wb") as writer:
        while block := reader.read(CHUNK):
            if stop():
                raise Cancelled(f"Adding {src.name} was cancelled; nothing was added.")
            writer.write(block)
            done += len(block)
            report(done, total)
    shutil.copystat(src, out)
    return done


def _sidecar_target(side: Path, source: Path, target: Path) -> Path:
    """`ade.pth.json` -> `ade.safetensors.json`, `ade.json` stays `ade.json`."""
    if side.name.startswith(source.name):
        return target.with_name(target.name + side.name[len(source.name) :])
    return target.with_name(target.stem + side.name[len(source.stem) :])


def _same_device(source: Path, folder: Path) -> bool:
    return source.stat().st_dev == folder.stat().st_dev


def _rename_into_place(plan: ImportPlan) -> ImportResult:
    """A move within one disk is a rename: instant and atomic (side files follow)."""
    source, target = Path(plan.source), Path(plan.target)
    if target.exists():
        raise ModelLoadError(f"A model named {target.name} appeared meanwhile; nothing was moved.")
    source.rename(target)  # the model first: a side file that fails to follow is not lost
    for side in plan.sidecars:
        Path(side).rename(_sidecar_target(Path(side), source, target))
    _carry_settings(source, target)  # kept by path: the old path's entry is still readable
    return ImportResult(inspect_folder(target))


def _check_space(plan: ImportPlan, folder: Path) -> None:
    free = shutil.disk_usage(folder).free
    if free < plan.total_bytes + SPACE_MARGIN:
        raise ModelLoadError(
            f"Not enough free space to add {Path(plan.source).name}: it needs "
            f"{format_bytes(plan.total_bytes)}, {format_bytes(free)} is free in {folder}."
        )


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()
