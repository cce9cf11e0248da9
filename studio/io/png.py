"""PNG export with the generation recipe: an A1111 `parameters` chunk and Studio's JSON chunk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

from studio.io.atomic import write_atomic

RECIPE_KEY = "studio"
A1111_KEY = "parameters"


def a1111_parameters(recipe: dict[str, Any]) -> str:
    """The three-part text A1111 and most tools read: prompt, negative prompt, settings line."""
    lines = [str(recipe.get("prompt", ""))]
    negative = recipe.get("negative_prompt")
    if negative:
        lines.append(f"Negative prompt: {negative}")
    fields = [
        ("Steps", recipe.get("num_inference_steps")),
        ("Sampler", recipe.get("sampler")),
        ("CFG scale", recipe.get("guidance_scale")),
        ("Seed", recipe.get("seed")),
        ("Size", f"{recipe.get('width')}x{recipe.get('height')}"),
        ("Model", recipe.get("model_name")),
    ]
    if recipe.get("strength") is not None:
        fields.append(("Denoising strength", recipe.get("strength")))
    if recipe.get("draft"):
        fields.append(("Draft", f"stopped after step {recipe.get('steps_done')}"))
    fields.append(("Version", f"Studio {recipe.get('versions', {}).get('studio', '?')}"))
    lines.append(", ".join(f"{k}: {_clean(v)}" for k, v in fields if v is not None))
    return "\n".join(lines)


def _clean(value: Any) -> str:
    # A1111's settings line is comma-separated: keep values from breaking it.
    return str(value).replace("\n", " ").replace(",", ";")


def save_png(path: Path, pixels: np.ndarray, recipe: dict[str, Any] | None = None) -> None:
    """Write HxWx3/HxWx4 uint8 pixels as PNG (atomically), with the recipe when given."""
    mode = {3: "RGB", 4: "RGBA"}.get(pixels.shape[2] if pixels.ndim == 3 else 0)
    if pixels.dtype != np.uint8 or mode is None:
        raise ValueError(f"expected HxWx3 or HxWx4 uint8 pixels, got {pixels.shape} {pixels.dtype}")
    image = Image.fromarray(pixels, mode)
    info = PngImagePlugin.PngInfo()
    if recipe:
        info.add_text(A1111_KEY, a1111_parameters(recipe))
        info.add_itxt(RECIPE_KEY, json.dumps(recipe, sort_keys=True, default=str))
    write_atomic(Path(path), lambda handle: image.save(handle, format="PNG", pnginfo=info))


def read_recipe(path: Path) -> dict[str, Any] | None:
    """Studio's JSON recipe from a PNG, or None if it has none."""
    with Image.open(path) as image:
        text = image.text.get(RECIPE_KEY) if hasattr(image, "text") else None
    return json.loads(text) if text else None
