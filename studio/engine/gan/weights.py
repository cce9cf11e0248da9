"""GAN weight files: wrapper keys, DataParallel prefixes, strict loading, sidecars, conversion."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from studio.engine.models.checkpoints import (
    PICKLE_SUFFIXES,
    SAFE_SUFFIXES,
    load_safetensors,
    read_pickle,
)

# One loader for every weight file: the same allowlist, refusals and errors as SD checkpoints.
from studio.engine.models.checkpoints import UnsafeCheckpointError as UnsafeCheckpointError
from studio.errors import ModelLoadError
from studio.units import format_bytes

MAX_FILE_BYTES = 4 * 2**30  # no GAN generator we run is near this; bigger is not a generator
WRAPPER_KEYS = ("state_dict", "netG", "generator", "model", "params")


def _is_tensor_dict(value: Any) -> bool:
    import torch

    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(v, torch.Tensor) for v in value.values())
    )


def _unwrap(obj: Any, name: str) -> dict[str, Any]:
    """Plain state dict from a file that may wrap it ({'state_dict': ...}) or hold extras."""
    if _is_tensor_dict(obj):
        return dict(obj)
    if isinstance(obj, Mapping):
        for key in WRAPPER_KEYS:
            if _is_tensor_dict(obj.get(key)):
                return dict(obj[key])
    kind = type(obj).__name__
    keys = list(obj.keys())[:8] if isinstance(obj, Mapping) else []
    raise ModelLoadError(
        f"{name} does not hold a generator's weights.",
        f"Expected a dict of tensors, found {kind} with keys {keys}.",
    )


def strip_prefixes(sd: dict[str, Any]) -> dict[str, Any]:
    """Drop the `module.` prefix DataParallel adds; keep everything else unchanged."""
    if sd and all(k.startswith("module.") for k in sd):
        return {k[len("module.") :]: v for k, v in sd.items()}
    return sd


def read_state_dict(path: str | Path, mmap: bool = False) -> dict[str, Any]:
    """Tensors of a generator file: .safetensors, or a pickle through weights-only loading
    (`mmap`: map a zip-format pickle instead of reading it, for a look at names and shapes)."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"There is no model file at {path}.")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ModelLoadError(f"{path.name} is {format_bytes(size)}, too big for a GAN generator.")
    suffix = path.suffix.lower()
    if suffix in SAFE_SUFFIXES:
        sd = load_safetensors(path)
    elif suffix in PICKLE_SUFFIXES:
        sd = _unwrap(read_pickle(path, mmap), path.name)
    else:
        raise ModelLoadError(
            f"{path.name}: unknown weight file type {suffix or '(none)'}.",
            f"Known: {', '.join(SAFE_SUFFIXES + PICKLE_SUFFIXES)}",
        )
    return strip_prefixes(sd)


def check_state_dict(expected: Mapping[str, tuple[int, ...]], found: Mapping[str, Any], what: str):
    """Strict check: same names and shapes; the message names the first mismatching key."""
    missing = [k for k in expected if k not in found]
    extra = [k for k in found if k not in expected]
    for key, shape in expected.items():
        if key in found and tuple(found[key].shape) != tuple(shape):
            raise ModelLoadError(
                f"This file does not fit the {what}: {key} has shape "
                f"{list(found[key].shape)}, expected {list(shape)}.",
                _listing(missing, extra),
            )
    if missing or extra:
        first = missing[0] if missing else extra[0]
        raise ModelLoadError(
            f"This file does not fit the {what}: "
            + (f"{first} is missing." if missing else f"{first} is not expected."),
            _listing(missing, extra),
        )


def load_strict(build: Callable[[], Any], sd: Mapping[str, Any], what: str) -> Any:
    """Build the module on the meta device (no memory, no random init), check names and
    shapes, then adopt private float32 copies of the file's tensors; returns it in eval mode."""
    import torch

    with torch.device("meta"):
        net = build()
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    sd = dict(sd)
    for key in expected:  # old files lack BatchNorm's counter; BatchNorm's own loader adds it
        if key.endswith(".num_batches_tracked") and key not in sd:
            sd[key] = torch.tensor(0, dtype=torch.long)
    check_state_dict(expected, sd, what)
    owned = {
        k: v.detach().to(torch.float32, copy=True) if v.is_floating_point() else v.detach().clone()
        for k, v in sd.items()
    }
    net.load_state_dict(owned, strict=True, assign=True)
    return net.eval()


def _listing(missing: Iterable[str], extra: Iterable[str]) -> str:
    missing, extra = list(missing), list(extra)
    return (
        f"missing {len(missing)} keys: {missing[:12]}\nunexpected {len(extra)} keys: {extra[:12]}"
    )


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """The optional JSON next to a checkpoint (`<file>.json`): label set, size, widths…"""
    path = Path(path)
    from studio.engine.models.settings import read_json_object

    for candidate in (path.with_suffix(".json"), path.with_name(path.name + ".json")):
        if candidate.is_file():
            return read_json_object(candidate)
    return {}


def convert_to_safetensors(src: str | Path, dst: str | Path) -> Path:
    """Write a checkpoint's tensors (read safely) as .safetensors, plus its sidecar if any."""
    from safetensors.torch import save_file

    src, dst = Path(src), Path(dst)
    sd = {k: v.detach().clone().contiguous() for k, v in read_state_dict(src).items()}
    save_file(sd, str(dst), metadata={"format": "pt", "converted_from": src.name})
    sidecar = read_sidecar(src)
    if sidecar:
        dst.with_suffix(".json").write_text(json.dumps(sidecar, indent=1), encoding="utf-8")
    return dst
