"""Read generation settings back from a PNG: Studio's JSON recipe, else A1111 `parameters`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from studio.errors import StudioError
from studio.io.png import A1111_KEY, RECIPE_KEY

# key: value pairs of A1111's settings line; values may be "quoted, with commas".
_PAIR = re.compile(r'\s*([A-Za-z][\w ./-]*?):\s*("(?:\\.|[^"\\])*"|[^,]*)(?:,|$)')
_NUMBERS = {
    "num_inference_steps": int,
    "seed": int,
    "width": int,
    "height": int,
    "guidance_scale": float,
    "strength": float,
}


def parse_a1111(text: str) -> dict[str, Any]:
    """Prompt, negative prompt and settings from A1111's three-part text."""
    lines = text.strip().split("\n")
    settings_line = ""
    if lines and re.match(r"\s*Steps:\s*\d+", lines[-1]):
        settings_line = lines.pop()
    prompt, negative, in_negative = [], [], False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:") :].strip()
        (negative if in_negative else prompt).append(line)
    out: dict[str, Any] = {
        "prompt": "\n".join(prompt).strip(),
        "negative_prompt": "\n".join(negative).strip(),
    }
    pairs = {k.strip(): v.strip().strip('"') for k, v in _PAIR.findall(settings_line)}
    names = {
        "Steps": "num_inference_steps",
        "Sampler": "sampler",
        "CFG scale": "guidance_scale",
        "Seed": "seed",
        "Model": "model_name",
        "Denoising strength": "strength",
    }
    for key, name in names.items():
        if key in pairs:
            out[name] = pairs[key]
    if pairs.get("Schedule type", "").lower() == "karras" and "Karras" not in out.get(
        "sampler", ""
    ):
        out["sampler"] = f"{out.get('sampler', '')} Karras".strip()
    size = re.fullmatch(r"(\d+)x(\d+)", pairs.get("Size", ""))
    if size:
        out["width"], out["height"] = int(size.group(1)), int(size.group(2))
    return _typed(out)


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for name, kind in _NUMBERS.items():
        if out.get(name) is not None:
            try:
                out[name] = kind(out[name])
            except (TypeError, ValueError):
                del out[name]
    return out


def read_settings(path: Path) -> dict[str, Any]:
    """The settings a PNG carries; StudioError if it carries none or is not a readable PNG."""
    try:
        with Image.open(path) as image:
            text = dict(getattr(image, "text", {}) or {})
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise StudioError(f"Cannot read {Path(path).name} as an image.", str(exc)) from exc
    if text.get(RECIPE_KEY):
        try:
            recipe = json.loads(text[RECIPE_KEY])
        except ValueError as exc:
            raise StudioError(
                f"The Studio recipe in {Path(path).name} is damaged.", str(exc)
            ) from exc
        if isinstance(recipe, dict):
            return _typed(recipe)
    if text.get(A1111_KEY):
        return parse_a1111(text[A1111_KEY])
    raise StudioError(
        f"{Path(path).name} carries no generation settings.",
        "Looked for the 'studio' and 'parameters' PNG text chunks.",
    )
