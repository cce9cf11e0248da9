"""Checks on model files before anything heavy reads them: safetensors headers, zip archives
(.ckpt bombs), JSON configs (types of the fields Studio reads) and parameter counts estimated
from a config before a model is built. Every refusal is a ModelLoadError in plain words."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

from studio.errors import ModelLoadError
from studio.io.safe_json import UntrustedJsonError, read_json_file

MAX_CONFIG_BYTES = 4 * 2**20  # the largest real config.json is ~100 KB
MAX_ZIP_MEMBERS = 200_000
MAX_ZIP_RATIO = 50  # torch stores tensors uncompressed; a high ratio is a bomb
MAX_DIMS = 16
COMPONENT_FOLDERS = {"unet", "vae", "text_encoder", "text_encoder_2", "scheduler", "controlnet"}
MAX_PARAMETERS = 20_000_000_000  # past the largest local image models (~12 B)

# bytes per element of every safetensors dtype (sub-byte types count as one byte here)
DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "I16": 2, "U16": 2,
    "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _entry_span(key: str, entry: Any) -> tuple[int, int, tuple[int, ...]]:
    """(begin, end, shape) of one tensor entry; ValueError names what is wrong."""
    if not isinstance(entry, dict):
        raise ValueError(f"entry {key[:80]!r} is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        raise ValueError(f"tensor {key[:80]!r} has an unknown dtype {str(dtype)[:20]!r}")
    if not isinstance(shape, list) or len(shape) > MAX_DIMS:
        raise ValueError(f"tensor {key[:80]!r} has a shape that is not a list of sizes")
    if not all(_whole(n) and n >= 0 for n in shape):
        raise ValueError(f"tensor {key[:80]!r} has a shape that is not a list of sizes")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_whole, offsets))):
        raise ValueError(f"tensor {key[:80]!r} has malformed data offsets")
    begin, end = offsets
    numel = 1
    for n in shape:
        numel *= n
    if begin < 0 or end < begin or end - begin != numel * DTYPE_BYTES[dtype]:
        raise ValueError(f"tensor {key[:80]!r}: offsets {begin}..{end} do not fit its shape")
    return begin, end, tuple(shape)


def check_safetensors_header(header: Any, data_bytes: int, name: str):
    """Shapes and metadata of a parsed safetensors header, checked like the reference parser:
    typed entries, offsets that fit their shapes and tile the data exactly."""
    if not isinstance(header, dict):
        raise ModelLoadError(f"{name} has a malformed safetensors header.", "not a JSON object")
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelLoadError(
            f"{name} has a malformed safetensors header.", "__metadata__ must map text to text"
        )
    shapes: dict[str, tuple[int, ...]] = {}
    spans = []
    try:
        for key, entry in header.items():
            if key != "__metadata__":
                begin, end, shapes[key] = _entry_span(key, entry)
                spans.append((begin, end))
    except ValueError as exc:
        raise ModelLoadError(f"{name} has a malformed safetensors header.", str(exc)) from exc
    covered = 0
    for begin, end in sorted(spans):
        if begin != covered:
            detail = f"tensors overlap or leave gaps at byte {begin}"
            raise ModelLoadError(f"{name} has a malformed safetensors header.", detail)
        covered = end
    if covered != data_bytes:
        raise ModelLoadError(
            f"{name} is incomplete or damaged: it holds {data_bytes} bytes of tensor data where "
            f"its header says {covered}. Copy or download it again.",
            "safetensors offsets do not cover the data exactly",
        )
    return shapes, dict(metadata)


def check_torch_zip(path: Path) -> None:
    """Refuse a zip-format .ckpt whose declared sizes make it a bomb, before anything unpacks it."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ModelLoadError(f"{path.name} is not a readable checkpoint.", str(exc)) from exc
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ModelLoadError(f"{path.name} is not a readable checkpoint.", f"{len(infos)} members")
    on_disk = path.stat().st_size
    declared = sum(i.file_size for i in infos)
    worst = max(infos, key=lambda i: i.file_size / max(i.compress_size, 1), default=None)
    ratio = worst.file_size / max(worst.compress_size, 1) if worst else 0
    if ratio > MAX_ZIP_RATIO or declared > MAX_ZIP_RATIO * max(on_disk, 2**20):
        raise ModelLoadError(
            f"{path.name} was refused without unpacking it: it claims {declared / 2**30:.1f} GB "
            f"of data packed into {on_disk / 2**20:.1f} MB, which no checkpoint does "
            "(a damaged file or a zip bomb).",
            f"worst member {worst.filename if worst else '?'}: ratio {ratio:.0f}",
        )


def read_config(path: Path) -> dict[str, Any]:
    """A JSON config as a dict, with the fields Studio reads type-checked and, for model
    configs, the parameter count estimated and capped; ModelLoadError otherwise."""
    from studio.engine.models.config_schema import check_fields

    path = Path(path)
    parts = path.parts[-3:] if path.parent.name in COMPONENT_FOLDERS else path.parts[-2:]
    where = "/".join(parts)  # model/unet/config.json: which model, which part
    try:
        data = read_json_file(path, MAX_CONFIG_BYTES)
    except UntrustedJsonError as exc:
        raise ModelLoadError(f"{where} is damaged and cannot be read.", f"{path}: {exc}") from exc
    except OSError as exc:
        raise ModelLoadError(f"Cannot read {where}.", str(exc)) from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{where} is damaged: it is not a JSON object.", str(path))
    problem = check_fields(path.name, data)
    if problem:
        raise ModelLoadError(f"{where} is malformed: {problem}.", str(path))
    check_parameters(data, where)
    return data


def parameter_limit() -> int:
    """MAX_PARAMETERS, lowered to what fits in this machine's RAM at 2 bytes a parameter."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return MAX_PARAMETERS
    return min(MAX_PARAMETERS, ram // 2) if ram > 0 else MAX_PARAMETERS


def check_parameters(config: dict[str, Any], where: str) -> None:
    """Refuse a config whose estimated parameter count is past parameter_limit()."""
    from studio.engine.models.config_schema import estimate_parameters

    try:
        count = estimate_parameters(config)
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"{where} is malformed: {exc}.") from exc
    limit = parameter_limit()
    if count is not None and count > limit:
        raise ModelLoadError(
            f"{where} describes a model of about {count / 1e9:,.1f} billion parameters; "
            f"Studio refuses more than {limit / 1e9:,.1f} billion on this machine.",
            "estimated from the config before building anything",
        )


def _field_problem(name: str, value: Any, default: Any) -> str | None:
    """Whether one starter.json field has the type (and a sane range) of its default."""
    from studio.io.safe_json import finite_number

    if isinstance(default, (bool, str)):
        ok = type(value) is type(default)
    elif isinstance(default, int):
        ok = _whole(value) and 0 < value <= 2**20
    elif isinstance(default, float):
        ok = finite_number(value) and 0 <= value <= 1e6
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
    else:
        ok = True
    return None if ok else f"{name!r} should be like {default!r}, not {str(value)[:40]}"


def check_starter_config(cfg: Any, path: Path) -> None:
    """Types and sizes of a starter.json (a StarterConfig) before its UNet is built."""
    import dataclasses

    from studio.engine.models.config_schema import check_fields

    defaults = type(cfg)()
    problem = None
    for field in dataclasses.fields(cfg):
        problem = problem or _field_problem(
            field.name, getattr(cfg, field.name), getattr(defaults, field.name)
        )
    if problem is None and cfg.native_size % cfg.pixel_shuffle:
        problem = "native_size must be a multiple of pixel_shuffle"
    problem = problem or check_fields("config.json", cfg.unet)
    if problem:
        raise ModelLoadError(f"{path} is malformed: {problem}.", str(path))
    unet = {**cfg.unet, "in_channels": cfg.image_channels + cfg.label_channels}
    check_parameters({**unet, "num_class_embeds": cfg.num_styles}, str(path))


def check_config_folder(folder: Path) -> None:
    """Every config in a diffusers folder (and its component folders) read through read_config,
    so a damaged or absurd one is refused before diffusers builds anything."""
    folder = Path(folder)
    names = ("model_index.json", "config.json", "scheduler_config.json")
    for path in sorted([*folder.glob("*.json"), *folder.glob("*/*.json")]):
        if path.name in names and path.is_file():
            read_config(path)
