"""Textual-inversion embeddings: A1111/SD `.pt`, diffusers `.bin`, kohya and SDXL `.safetensors`.

Pickles are read weights-only with one more allowed class (the `nn.ParameterDict` old A1111
files hold); nothing in a file is run. An embedding is used where its trigger word (the file
name without extension, as in A1111) appears in a prompt: its vectors replace the word's tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.engine.models.checkpoints import PICKLE_SUFFIXES, read_safetensors_header
from studio.engine.models.registry import ModelInfo
from studio.errors import InvalidRequestError, ModelLoadError

MAX_PICKLE_BYTES = 8 * 2**20  # an embedding is a few KB; bigger pickles are checkpoints
MAX_VECTORS = 75  # one chunk; A1111 refuses more too
SUFFIXES = (".safetensors", *sorted(PICKLE_SUFFIXES))
FAMILY_BY_WIDTH = {768: "sd1", 1024: "sd2"}


@dataclass(frozen=True)
class Embedding:
    """One embedding: its trigger word and n x width vectors per text-encoder width."""

    name: str
    vectors: Mapping[int, Any]  # width -> torch tensor n x width (float32)
    path: str = ""

    @property
    def family(self) -> str:
        widths = sorted(self.vectors)
        if len(widths) == 2:
            return "sdxl"  # clip_l + clip_g
        return FAMILY_BY_WIDTH.get(widths[0], "?") if widths else "?"


def trigger(path: str | Path) -> str:
    """The word that calls an embedding: its file name without the extension."""
    return Path(path).stem


def _header_layout(keys: set[str], shapes: Mapping[str, tuple[int, ...]]) -> bool:
    """True when a safetensors header has an embedding's keys (read before any tensor)."""
    if keys in ({"emb_params"}, {"clip_l", "clip_g"}, {"string_to_param.*"}):
        return True
    return (
        len(keys) == 1 and _token_key(next(iter(keys))) and 1 <= len(shapes[next(iter(keys))]) <= 2
    )


def _token_key(key: str) -> bool:
    """A diffusers embedding's one key is its token ("<cat-toy>"); weight names have dots."""
    return "." not in key and "lora" not in key.lower()


def looks_like_embedding(path: Path) -> bool:
    """Cheap test: a safetensors header with an embedding's keys, or a small pickle."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        shapes, _ = read_safetensors_header(path)
        return _header_layout(set(shapes), shapes)
    return suffix in PICKLE_SUFFIXES and path.stat().st_size <= MAX_PICKLE_BYTES


def _pickle(path: Path) -> Any:
    import torch

    from studio.engine.models.checkpoints import read_pickle

    return read_pickle(path, extra_globals=[torch.nn.ParameterDict])


def _tensor_of(value: Any) -> Any:
    """A ParameterDict / dict of one tensor (A1111's string_to_param) -> that tensor."""
    import torch

    if isinstance(value, torch.Tensor):
        return value
    items = dict(value.items()) if hasattr(value, "items") else {}
    tensors = [v for v in items.values() if isinstance(v, torch.Tensor)]
    return tensors[0] if len(tensors) == 1 else None


def vectors_of(data: Any) -> dict[str, Any] | None:
    """The layouts in the wild -> {"clip_l"/"clip_g"/"single": tensor}, or None."""
    import torch

    if not isinstance(data, Mapping):
        return None
    if "string_to_param" in data:  # A1111 / original textual_inversion
        found = _tensor_of(data["string_to_param"])
        return None if found is None else {"single": found}
    if "clip_l" in data and "clip_g" in data:  # SDXL (kohya, A1111)
        return {"clip_l": data["clip_l"], "clip_g": data["clip_g"]}
    if "emb_params" in data:  # kohya SD 1.x/2.x
        return {"single": data["emb_params"]}
    if "string_to_param.*" in data:  # an A1111 file converted to safetensors
        return {"single": data["string_to_param.*"]}
    key = next(iter(data), "")
    if len(data) == 1 and isinstance(data[key], torch.Tensor) and _token_key(str(key)):
        return {"single": data[key]}  # diffusers: {token: vector(s)}
    return None


def _checked(tensor: Any, name: str) -> Any:
    import torch

    if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
        raise ModelLoadError(f"{name} is not an embedding: its vectors are not numbers.")
    if tensor.ndim == 1:
        tensor = tensor[None]
    if tensor.ndim != 2 or not 1 <= tensor.shape[0] <= MAX_VECTORS or tensor.shape[1] < 8:
        raise ModelLoadError(
            f"{name} is not an embedding Studio can use: vectors of shape {tuple(tensor.shape)}."
        )
    if not torch.isfinite(tensor).all():
        raise ModelLoadError(f"{name} is damaged: its vectors hold NaN or infinite values.")
    return tensor.detach().to(torch.float32).clone()


def read_embedding(path: str | Path) -> Embedding:
    """Read an embedding file (ModelLoadError when it is not one or is damaged)."""
    from studio.engine.models.checkpoints import load_safetensors

    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"The embedding {path.name} is not there any more.", str(path))
    if path.suffix.lower() == ".safetensors":
        data = load_safetensors(path)
    elif path.suffix.lower() in PICKLE_SUFFIXES:
        if path.stat().st_size > MAX_PICKLE_BYTES:
            raise ModelLoadError(f"{path.name} is too big to be an embedding.")
        data = _pickle(path)
    else:
        raise ModelLoadError(f"{path.name}: embeddings are .pt, .bin or .safetensors files.")
    found = vectors_of(data)
    if found is None:
        raise ModelLoadError(f"{path.name} is not a textual-inversion embedding.")
    by_width = {}
    for tensor in found.values():
        tensor = _checked(tensor, path.name)
        by_width[int(tensor.shape[1])] = tensor
    counts = {int(t.shape[0]) for t in by_width.values()}
    if len(counts) != 1 or len(by_width) != len(found):
        raise ModelLoadError(f"{path.name}: its two encoders' vectors do not match.")
    return Embedding(trigger(path), by_width, str(path))


def inspect_embedding(path: Path) -> ModelInfo | None:
    """A ModelInfo of kind "embedding" when the file is one; None otherwise."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES or not looks_like_embedding(path):
        return None
    try:
        found = read_embedding(path)
    except ModelLoadError:
        return None  # not one of ours: the checkpoint inspectors say what it is
    size = path.stat().st_size
    count = next(iter(found.vectors.values())).shape[0]
    variant = f"{count} vector{'s' if count > 1 else ''}"
    note = f"Use it by writing “{found.name}” in a prompt."
    return ModelInfo(
        path.name,
        str(path),
        "embedding",
        found.family,
        "single-file",
        size,
        None,
        variant,
        (note,),
    )


def used_in(texts: Iterable[str], paths: Sequence[str]) -> tuple[str, ...]:
    """The embeddings among `paths` whose trigger word appears (as a word) in the texts."""
    joined = "\n".join(texts).lower()
    out = []
    for path in paths:
        word = re.escape(trigger(path).lower())
        if re.search(rf"(?<![\w]){word}(?![\w])", joined):
            out.append(str(path))
    return tuple(dict.fromkeys(out))


def check_fits(embeddings: Sequence[Embedding], widths: Sequence[int], model: str) -> None:
    """Every embedding has vectors for every text encoder the model conditions with."""
    for e in embeddings:
        missing = [w for w in widths if w not in e.vectors]
        if missing:
            made = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sdxl": "SDXL"}.get(e.family, "another")
            raise InvalidRequestError(
                f"The embedding “{e.name}” was made for {made} models and does not fit "
                f"{model}: remove its word from the prompt or choose a matching model.",
                f"Its vector widths: {sorted(e.vectors)}; the model's text encoders: "
                f"{list(widths)}",
            )
