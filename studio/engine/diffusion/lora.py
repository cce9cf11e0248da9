"""LoRA files applied to a loaded pipeline: several at once, weighted, fused or not."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from studio.engine.models.registry import inspect_folder
from studio.errors import InvalidRequestError, ModelLoadError


def adapter_name(path: str) -> str:
    """A stable, valid adapter name per file (peft names cannot contain dots)."""
    return "lora_" + hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:12]


def check_lora(path: str, family: str) -> None:
    info = inspect_folder(Path(path))
    if not info.usable:
        raise ModelLoadError(f"Cannot use the LoRA {info.name}: {info.problem}.", info.path)
    if info.kind != "lora":
        raise InvalidRequestError(f"{info.name} is not a LoRA (it is {info.kind}).")
    if info.family not in ("?", family):
        raise InvalidRequestError(
            f"The LoRA {info.name} was made for {info.family} models; this model is {family}."
        )


def apply_loras(loaded: Any, loras: tuple[tuple[str, float], ...], fuse: bool) -> None:
    """Make exactly these LoRAs active with these weights (loading/unloading as needed)."""
    pipe = loaded.txt2img
    state = loaded.__dict__.setdefault("lora_state", {"paths": (), "fused": False})
    if state["fused"]:
        pipe.unfuse_lora()
        state["fused"] = False
    paths = tuple(p for p, _ in loras)
    if paths != state["paths"]:
        if state["paths"]:
            pipe.unload_lora_weights()
            state["paths"] = ()
        for path in paths:
            check_lora(path, loaded.info.family)
            _load_one(pipe, path)
        state["paths"] = paths
    if not loras:
        return
    names = [adapter_name(p) for p in paths]
    pipe.set_adapters(names, adapter_weights=[w for _, w in loras])
    if fuse:
        pipe.fuse_lora(adapter_names=names, lora_scale=1.0)
        state["fused"] = True


def _load_one(pipe: Any, path: str) -> None:
    try:
        import peft  # noqa: F401  (diffusers needs it for LoRA adapters)
    except ImportError as exc:
        raise ModelLoadError("LoRA support needs the `peft` package.", str(exc)) from exc
    file = Path(path)
    kwargs = {"weight_name": file.name} if file.is_file() else {}
    folder = file.parent if file.is_file() else file
    try:
        pipe.load_lora_weights(
            str(folder), adapter_name=adapter_name(path), local_files_only=True, **kwargs
        )
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"Could not apply the LoRA {file.name}.", str(exc)) from exc
