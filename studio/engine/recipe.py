"""The full recipe of a result (hashes, scheduler, versions, seeds) and re-running it exactly."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.models.checkpoints import file_sha256
from studio.engine.requests import GenerationRequest
from studio.errors import InvalidRequestError

# Request fields a recipe carries verbatim (images are referenced by hash).
PLAIN_FIELDS = (
    "prompt",
    "negative_prompt",
    "num_inference_steps",
    "guidance_scale",
    "seed",
    "width",
    "height",
    "sampler",
    "strength",
    "mask_blur",
    "inpaint_padding",
    "masked_content",
    "color_match",
    "controlnet_path",
    "control_scale",
    "batch_size",
    "batch_count",
    "variation_seed",
    "variation_strength",
    "refiner_path",
    "refiner_switch",
    "fuse_loras",
    "few_step",
    "preview_decoder",
    "prompt_b",
    "prompt_mix",
)
IMAGE_FIELDS = ("init_image", "mask", "label_map", "control_image")


def array_sha256(array: np.ndarray | None) -> str | None:
    """Hash of an image/mask/label array including its shape and dtype."""
    if array is None:
        return None
    a = np.ascontiguousarray(array)
    header = f"{a.shape}{a.dtype}".encode()
    return hashlib.sha256(header + a.tobytes()).hexdigest()


def _hash_path(path: str | None) -> str | None:
    return file_sha256(Path(path)) if path and Path(path).exists() else None


def exact_fields(request: GenerationRequest, device: str, dtype: str) -> dict[str, Any]:
    """Everything needed to rebuild the request, plus hashes of the files and arrays it used."""
    out: dict[str, Any] = {f: getattr(request, f) for f in PLAIN_FIELDS}
    out["model_path"] = request.model_path
    out["model_sha256"] = _hash_path(request.model_path)
    out["loras"] = [{"path": p, "weight": w, "sha256": _hash_path(p)} for p, w in request.loras]
    for name in ("controlnet_path", "refiner_path"):
        if getattr(request, name):
            out[name.replace("_path", "_sha256")] = _hash_path(getattr(request, name))
    for name in IMAGE_FIELDS:
        out[f"{name}_sha256"] = array_sha256(getattr(request, name))
    if request.prompt_syntax != "plain":  # recipes of plain prompts stay as they were
        out["prompt_syntax"] = request.prompt_syntax
    if request.embeddings:
        out["embeddings"] = [{"path": p, "sha256": _hash_path(p)} for p in request.embeddings]
    if request.regions:  # only when used: other recipes stay as they were
        out["regions"] = [list(pair) for pair in request.regions]
        out["region_map_sha256"] = array_sha256(request.region_map)
    out["device"], out["dtype"] = device, dtype
    return {"request": out}


def request_from_recipe(recipe: dict[str, Any], **arrays: np.ndarray | None) -> GenerationRequest:
    """Rebuild the request of a recipe; given images must be the ones it was made from."""
    fields = dict(recipe["request"])
    for name in IMAGE_FIELDS:
        expected = fields.pop(f"{name}_sha256", None)
        given = arrays.get(name)
        if expected != array_sha256(given):
            what = "missing" if given is None else "different"
            raise InvalidRequestError(
                f"The {name.replace('_', ' ')} is {what}: re-running exactly needs the same one."
            )
        fields[name] = given
    loras = tuple((entry["path"], entry["weight"]) for entry in fields.pop("loras", []))
    if "region_map_sha256" in fields:
        if fields.pop("region_map_sha256") != array_sha256(arrays.get("region_map")):
            raise InvalidRequestError(
                "The regions are missing or different: re-running exactly needs the same labels."
            )
        fields["region_map"] = arrays.get("region_map")
        fields["regions"] = tuple(tuple(pair) for pair in fields.pop("regions", []))
    embeddings = fields.pop("embeddings", [])
    for entry in embeddings:
        if entry.get("sha256") is not None and _hash_path(entry["path"]) != entry["sha256"]:
            raise InvalidRequestError(
                f"The embedding {entry['path']} has changed since the image was made."
            )
    fields["embeddings"] = tuple(entry["path"] for entry in embeddings)
    for key in ("model_sha256", "controlnet_sha256", "refiner_sha256"):
        expected = fields.pop(key, None)
        path = {"model_sha256": "model_path"}.get(key, key.replace("_sha256", "_path"))
        if expected is not None and _hash_path(fields.get(path)) != expected:
            raise InvalidRequestError(
                f"The file {fields.get(path)} has changed since the image was made."
            )
    return GenerationRequest(loras=loras, **fields)
