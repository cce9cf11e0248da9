"""Safe reading of weight files: safetensors headers, weights-only pickles, conversion, hashes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.engine.models.validate import check_safetensors_header, check_torch_zip
from studio.errors import ModelLoadError
from studio.io.safe_json import parse_json

MAX_HEADER_BYTES = 100 * 2**20  # a larger safetensors header is not a model, it is an attack
LEGACY_HEAD_BYTES = 64 * 2**20  # where a legacy torch file's pickles are looked for globals
# The one list of weight-file suffixes: pickles load only weights-only, through an allowlist.
SAFE_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")
WEIGHT_SUFFIXES = SAFE_SUFFIXES + PICKLE_SUFFIXES
WRAPPER_KEYS = ("state_dict", "netG", "generator", "model", "params")  # where pickles nest weights
MAX_WRAPPING = 4  # wrappers looked into, at most


class UnsafeCheckpointError(ModelLoadError):
    """A pickled file needs code beyond plain tensors to load; it was refused, never run."""


def _header_bytes(path: Path) -> tuple[bytes, int]:
    """The raw JSON header of a .safetensors file and how many data bytes follow it."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValueError("the file is shorter than a safetensors header")
        (length,) = struct.unpack("<Q", raw)
        size = os.fstat(f.fileno()).st_size
        if length > MAX_HEADER_BYTES or length > size - 8:
            raise ValueError(f"header length {length} is not plausible for a {size}-byte file")
        return f.read(length), size - 8 - length


def read_safetensors_entries(path: Path) -> tuple[dict[str, Any], int]:
    """The checked header entries of a .safetensors file and where its data starts."""
    path = Path(path)
    try:
        raw, data_bytes = _header_bytes(path)
        header = parse_json(raw, max_bytes=MAX_HEADER_BYTES)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path.name} is not a readable .safetensors file.", str(exc)) from exc
    check_safetensors_header(header, data_bytes, path.name)
    return header, 8 + len(raw)


def read_safetensors_header(path: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """Keys -> shapes and the string metadata of a .safetensors file, read without torch; the
    header is checked as strictly as the safetensors library does (ModelLoadError otherwise)."""
    header, _start = read_safetensors_entries(path)
    shapes = {k: tuple(v["shape"]) for k, v in header.items() if k != "__metadata__"}
    return shapes, dict(header.get("__metadata__") or {})


def allowed_globals() -> list[Any]:
    """The few non-tensor globals classic SD .ckpt files carry, as inert stand-ins or data types."""
    import codecs

    import numpy as np

    class ModelCheckpoint:  # stand-in: old SD checkpoints pickle a Lightning callback's state
        pass

    ModelCheckpoint.__module__ = "pytorch_lightning.callbacks.model_checkpoint"
    allowed: list[Any] = [
        (ModelCheckpoint, "pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint"),
        np.dtype,
        (codecs.encode, "_codecs.encode"),
    ]
    scalar = getattr(np, "_core", np.core).multiarray.scalar
    allowed.append((scalar, "numpy.core.multiarray.scalar"))
    allowed.append(scalar)
    allowed += [type(np.dtype(t)) for t in ("float64", "float32", "int64", "int32")]
    return allowed


# What torch's unpickler raises on damaged or random bytes (found by feeding it garbage).
CORRUPT_PICKLE_ERRORS = (
    OSError,
    RuntimeError,
    EOFError,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    AttributeError,
    OverflowError,
    struct.error,
)


def unsafe_globals(path: Path) -> list[str]:
    """Globals a pickle would import that the weights-only loader does not allow, found by
    reading its opcodes (zip format: torch's lister; legacy format: pickletools); never run."""
    import pickle
    import zipfile

    import torch

    path = Path(path)
    if not _is_zip(path):
        return _legacy_unsafe_globals(path)
    check_torch_zip(path)
    with torch.serialization.safe_globals(allowed_globals()):
        try:
            return list(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
        except (*CORRUPT_PICKLE_ERRORS, pickle.UnpicklingError, zipfile.BadZipFile):
            return []


def _is_zip(path: Path) -> bool:
    import zipfile

    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def _is_plain_global(name: str) -> bool:
    """What every plain legacy torch file names: tensor rebuilders, storages, OrderedDict."""
    if name.startswith("torch._utils._rebuild") or name in ("torch.Size", "torch.device"):
        return True
    return (name.startswith("torch.") and name.endswith("Storage")) or (
        name == "collections.OrderedDict"
    )


def _pickle_globals(stream: Any) -> list[str]:
    """GLOBAL/STACK_GLOBAL names in one pickle, read as opcodes (nothing is run)."""
    import pickletools

    strings: list[str] = []
    found: list[str] = []
    for op, arg, _pos in pickletools.genops(stream):
        if "UNICODE" in op.name or op.name.endswith("STRING"):
            strings.append(str(arg))
        elif op.name == "GLOBAL":
            found.append(str(arg).replace(" ", "."))
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            found.append(f"{strings[-2]}.{strings[-1]}")
    return found


def _legacy_unsafe_globals(path: Path) -> list[str]:
    """Globals named in the pickles of a legacy (pre-zip) torch file, minus the plain ones."""
    allowed = {e[1] for e in allowed_globals() if isinstance(e, tuple)}
    # The pickles come before the tensor data, so the head will do; reading from memory also
    # means a damaged length field cannot make us allocate gigabytes.
    with open(path, "rb") as handle:
        stream = io.BytesIO(handle.read(LEGACY_HEAD_BYTES))
    found: list[str] = []
    try:
        for _ in range(4):  # magic number, protocol, sys info, then the object itself
            found += _pickle_globals(stream)
    except (*CORRUPT_PICKLE_ERRORS, UnicodeDecodeError):
        pass  # damaged: what was read before the damage is still reported
    return sorted({n for n in found if not _is_plain_global(n) and n not in allowed})


def read_pickle(path: Path, mmap: bool = True, extra_globals: Sequence[Any] = ()) -> Any:
    """The object in a .ckpt/.pt/.pth/.bin, through torch's weights-only unpickler and a narrow
    allowlist (`mmap`: map a zip-format file instead of reading it; `extra_globals`: a reader's
    own few additions, e.g. nn.ParameterDict for old embeddings). Nothing in it is run."""
    path = Path(path)
    is_zip = _is_zip(path)
    if is_zip:
        check_torch_zip(path)  # a bomb is refused from its declared sizes, never unpacked
    import pickle
    import zipfile

    import torch

    try:
        allowed = [*allowed_globals(), *extra_globals]
        with torch.serialization.safe_globals(allowed), warnings.catch_warnings():
            # torch warns about odd pickle protocols in damaged files; the error says it better
            warnings.simplefilter("ignore", UserWarning)
            lazy = mmap and is_zip  # only the zip format can be memory-mapped
            return torch.load(str(path), map_location="cpu", weights_only=True, mmap=lazy)
    except pickle.UnpicklingError as exc:
        names = unsafe_globals(path)
        if not names:  # nothing importable was asked for: the bytes are just not a pickle
            raise ModelLoadError(
                f"{path.name} is damaged or not a checkpoint: it could not be read as weights.",
                f"{type(exc).__name__}: {exc}",
            ) from exc
        raise UnsafeCheckpointError(
            f"{path.name} was refused: loading it would run code "
            f"({', '.join(names)}), "
            "not just read weights.",
            f"{type(exc).__name__}: {exc}",
        ) from exc
    except (*CORRUPT_PICKLE_ERRORS, zipfile.BadZipFile) as exc:
        raise ModelLoadError(f"{path.name} is not a readable checkpoint.", str(exc)) from exc


def load_pickle(path: Path) -> dict[str, Any]:
    """The tensors of a pickled checkpoint, read weights-only (see read_pickle)."""
    return unwrap_state_dict(read_pickle(path), Path(path).name)


def load_safetensors(path: Path) -> dict[str, Any]:
    """All tensors of a .safetensors file (the header is checked before safetensors parses it)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    read_safetensors_header(path)
    try:
        return dict(load_file(str(path), device="cpu"))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(f"{path.name} is not a readable .safetensors file.", str(exc)) from exc


def unwrap_state_dict(data: Any, name: str) -> dict[str, Any]:
    """The tensors of a loaded pickle, for every family: trainers nest them under a wrapper
    key ({"state_dict": …} in SD checkpoints, {"netG": …} in GAN ones) beside extras such as
    the epoch; DataParallel's `module.` prefix is dropped. Empty when there are none."""
    import torch

    for _ in range(MAX_WRAPPING):  # bounded: a hostile pickle may wrap a dict in itself
        if not isinstance(data, Mapping) or (
            data and all(isinstance(v, torch.Tensor) for v in data.values())
        ):
            break
        inner = next((data[k] for k in WRAPPER_KEYS if isinstance(data.get(k), Mapping)), None)
        if inner is None:
            break
        data = inner
    if not isinstance(data, Mapping):
        raise ModelLoadError(f"{name} does not hold a dictionary of weights.")
    return strip_prefixes({k: v for k, v in data.items() if isinstance(v, torch.Tensor)})


def strip_prefixes(sd: dict[str, Any]) -> dict[str, Any]:
    """Drop the `module.` prefix DataParallel adds; keep everything else unchanged."""
    if sd and all(k.startswith("module.") for k in sd):
        return {k[len("module.") :]: v for k, v in sd.items()}
    return sd


def load_state_dict(path: Path) -> dict[str, Any]:
    """All tensors of a weight file, safetensors first, pickles only weights-only."""
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        return load_safetensors(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return load_pickle(path)
    raise ModelLoadError(f"{path.name}: unknown weight file type {path.suffix!r}.")


def key_shapes(path: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """Keys -> shapes (and metadata) of any weight file, without running pickled code."""
    path = Path(path)
    if path.suffix.lower() == ".safetensors":
        return read_safetensors_header(path)
    state = load_pickle(path)
    return {k: tuple(v.shape) for k, v in state.items()}, {}


_NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}


def _decode(raw: bytes, dtype: str, shape: list[int]) -> Any:
    import numpy as np

    if dtype == "BF16":  # bfloat16 is the top half of a float32
        wide = np.frombuffer(raw, "<u2").astype(np.uint32) << 16
        return wide.view(np.float32).reshape(shape)
    if dtype not in _NUMPY_DTYPES:
        raise ValueError(f"tensor dtype {dtype} is not read here")
    return np.frombuffer(raw, _NUMPY_DTYPES[dtype]).astype(np.float32).reshape(shape)


def tensor_values(path: Path, keys: list[str]) -> dict[str, Any]:
    """A few tensors of a weight file as float32 numpy arrays, without torch for safetensors
    (only those bytes are read); pickles go through the weights-only loader."""
    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        state = load_pickle(path)
        return {k: state[k].float().numpy() for k in keys if k in state}
    entries, start = read_safetensors_entries(path)
    out = {}
    try:
        with open(path, "rb") as f:
            for key in keys:
                entry = entries.get(key)
                if not isinstance(entry, dict):
                    continue
                begin, end = entry["data_offsets"]
                f.seek(start + begin)
                out[key] = _decode(f.read(end - begin), entry["dtype"], entry["shape"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"{path.name} is not a readable .safetensors file.", str(exc)) from exc
    return out


def convert_to_safetensors(path: Path, out: Path | None = None) -> Path:
    """One call: a weights-only-loaded pickle written as .safetensors next to it (or at `out`)."""
    from safetensors.torch import save_file

    path = Path(path)
    out = Path(out) if out is not None else path.with_suffix(".safetensors")
    if out.exists():
        raise ModelLoadError(f"{out.name} already exists; not overwriting it.", str(out))
    state = load_state_dict(path)
    if not state:
        raise ModelLoadError(f"{path.name} holds no weights; nothing to convert.", str(path))
    # Clone: safetensors refuses tensors that share storage (tied or sliced weights).
    tensors = {k: v.detach().clone().contiguous() for k, v in state.items()}
    tmp = out.with_name(out.name + ".partial")
    save_file(tensors, str(tmp), metadata={"converted_from": path.name})
    tmp.replace(out)
    return out


def file_sha256(path: Path) -> str:
    """SHA-256 of a file (or a folder's files), remembered on disk by path, size and mtime."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    stamp = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    key = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()
    known = _known_hashes()
    if key not in known:
        digest = hashlib.sha256()
        for p in files:
            with open(p, "rb") as f:
                for block in iter(lambda f=f: f.read(2**22), b""):
                    digest.update(block)
        known[key] = digest.hexdigest()
        _save_hashes(known)
    return known[key]


_HASHES: dict[str, str] = {}


def _hash_file() -> Path:
    from studio.io.paths import user_cache_dir

    return user_cache_dir() / "model-hashes.json"


def _known_hashes() -> dict[str, str]:
    if not _HASHES:
        try:
            _HASHES.update(json.loads(_hash_file().read_text(encoding="utf-8")))
        except (OSError, ValueError):
            pass
    return _HASHES


def _save_hashes(known: dict[str, str]) -> None:
    """Best effort: a read-only cache folder only costs a rehash next time."""
    from studio.io.atomic import write_atomic

    target = _hash_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(dict(list(known.items())[-5000:])).encode()
        write_atomic(target, lambda handle: handle.write(data))
    except OSError:
        pass


@dataclass(frozen=True)
class ConvertRequest:
    """A job for the generation thread: write a pickled checkpoint as .safetensors."""

    path: str
    out: str | None = None

    def run(self) -> Path:
        """The file's own family converts it when it knows how (a StyleGAN .pkl: weights plus
        an architecture sidecar); otherwise its tensors are written as they are."""
        from studio.engine.families import family_of_model

        out = Path(self.out) if self.out else None
        convert = getattr(family_of_model(Path(self.path)), "convert", None)
        if convert is not None:
            return convert(Path(self.path), out)
        return convert_to_safetensors(Path(self.path), out)
