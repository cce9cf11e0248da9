"""GAN weight files: reading (through models/checkpoints.py), strict loading, sidecars."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from studio.engine.models.checkpoints import (
    PICKLE_SUFFIXES,
    SAFE_SUFFIXES,
    load_safetensors,
    read_pickle,
    strip_prefixes,
    unwrap_state_dict,
)

# One loader for every weight file: the same allowlist, refusals and errors as SD checkpoints.
from studio.engine.models.checkpoints import UnsafeCheckpointError as UnsafeCheckpointError
from studio.errors import ModelLoadError
from studio.units import format_bytes

MAX_FILE_BYTES = 4 * 2**30  # no GAN generator we run is near this; bigger is not a generator


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
        sd = unwrap_state_dict(read_pickle(path, mmap), path.name)
        if not sd:
            raise ModelLoadError(
                f"{path.name} does not hold a generator's weights.", "It holds no tensors."
            )
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
