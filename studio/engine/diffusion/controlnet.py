"""Semantic generation: label ids -> ADE20K colour maps; ControlNet models loaded offline."""

from __future__ import annotations

import contextlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.models.registry import ModelInfo, inspect_folder
from studio.errors import InvalidRequestError, ModelLoadError
from studio.resources import RESOURCES

PALETTE_FILE = RESOURCES / "palettes" / "ade20k-150.json"


@lru_cache(maxsize=1)
def ade20k_colours() -> np.ndarray:
    """256x3 uint8 lookup: row v = colour of label value v (ADE20K id + 1); 0 and unknown black."""
    try:
        data = json.loads(PALETTE_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError("The ADE20K colour table is missing.", str(exc)) from exc
    table = np.zeros((2**16, 3), np.uint8)
    for entry in data["entries"]:
        table[int(entry["value"])] = entry["rgb"]
    return table


def render_labels(labels: np.ndarray, width: int, height: int) -> np.ndarray:
    """HxW uint16 label values -> width x height x 3 uint8 ADE20K colours (nearest resize)."""
    from PIL import Image

    rgb = ade20k_colours()[np.asarray(labels, np.uint16)]
    if rgb.shape[:2] != (height, width):
        rgb = np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.NEAREST))
    return rgb


def control_image(request: Any) -> np.ndarray:
    """The conditioning image for a request: a given colour map, or its labels rendered."""
    from PIL import Image

    if request.control_image is not None:
        image = np.asarray(request.control_image)
        if image.shape[:2] != (request.height, request.width):
            resized = Image.fromarray(image).resize(
                (request.width, request.height), Image.Resampling.NEAREST
            )
            image = np.asarray(resized)
        return image
    return render_labels(request.label_map, request.width, request.height)


def check_controlnet(info: ModelInfo, family: str) -> None:
    if info.kind != "controlnet":
        raise InvalidRequestError(f"{info.name} is not a ControlNet model (it is {info.kind}).")
    if info.family not in ("?", family):
        raise InvalidRequestError(
            f"The ControlNet {info.name} is for {info.family} models; this model is {family}."
        )


def load_controlnet(path: str, family: str, device: str, dtype: str) -> Any:
    """A ControlNetModel from a diffusers folder or a single file (with an offline config)."""
    from diffusers import ControlNetModel

    from studio.engine.diffusion.loading import pickle_allowlist, torch_dtype
    from studio.engine.models.configs import config_folder

    info = inspect_folder(Path(path))
    if not info.usable:
        raise ModelLoadError(f"Cannot use {info.name}: {info.problem}.", info.path)
    check_controlnet(info, family)
    kwargs = dict(local_files_only=True, dtype=torch_dtype(dtype))
    try:
        if info.format == "diffusers":
            model = ControlNetModel.from_pretrained(info.path, use_safetensors=True, **kwargs)
        else:
            if info.family == "?":
                info = ModelInfo(**{**info.__dict__, "family": family})
            config = config_folder(info)
            pickled = Path(info.path).suffix.lower() != ".safetensors"
            with pickle_allowlist() if pickled else contextlib.nullcontext():
                model = ControlNetModel.from_single_file(info.path, config=str(config), **kwargs)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"Could not load the ControlNet {info.name}.", str(exc)) from exc
    return model.to(device)
