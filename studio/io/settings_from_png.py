"""Read generation settings back from a PNG: Studio's JSON recipe, else A1111 `parameters`."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from studio.errors import StudioError
from studio.io.images import PIL_ERRORS
from studio.io.png import A1111_KEY, RECIPE_KEY
from studio.io.safe_json import parse_json

MAX_TEXT = 64 * 1024  # characters of A1111 text read; real ones are < 4 KB
# name -> (type, smallest, largest): a value outside is dropped, never passed on
_NUMBERS: dict[str, tuple[type, float, float]] = {
    "num_inference_steps": (int, 1, 10_000),
    "seed": (int, 0, 2**64 - 1),
    "width": (int, 8, 16384),
    "height": (int, 8, 16384),
    "guidance_scale": (float, 0.0, 100.0),
    "strength": (float, 0.0, 1.0),
}
_TEXTS = ("prompt", "negative_prompt", "sampler", "model_name")
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ ./-")


def _quoted(line: str, start: int) -> tuple[str, int]:
    """A "quoted, with \\escapes" value starting at line[start] == '"': (text, index after)."""
    out, i = [], start + 1
    while i < len(line):
        char = line[i]
        if char == "\\" and i + 1 < len(line):
            out.append(line[i + 1])
            i += 2
            continue
        if char == '"':
            return "".join(out), i + 1
        out.append(char)
        i += 1
    return "".join(out), i  # unterminated: the rest of the line


def settings_pairs(line: str) -> dict[str, str]:
    """`Key: value, Key: "quoted, value", …` read in one left-to-right pass (linear time, so
    no text can make it slow); pieces without a key are skipped."""
    pairs: dict[str, str] = {}
    i, n = 0, len(line)
    while i < n:
        colon = line.find(":", i)
        if colon < 0:
            break
        key = line[i:colon].strip()
        j = colon + 1
        while j < n and line[j] == " ":
            j += 1
        if j < n and line[j] == '"':
            value, j = _quoted(line, j)
            comma = line.find(",", j)
        else:
            comma = line.find(",", j)
            value = line[j : comma if comma >= 0 else n].strip()
        # a key is a name (letters, digits, spaces, . / - _); anything else was a stray colon
        if key and key[0].isalpha() and all(c in _KEY_CHARS for c in key):
            pairs[key] = value
        if comma < 0:
            break
        i = comma + 1
    return pairs


def parse_a1111(text: str) -> dict[str, Any]:
    """Prompt, negative prompt and settings from A1111's three-part text."""
    lines = text[:MAX_TEXT].strip().split("\n")
    settings_line = ""
    if lines and re.match(r"\s*Steps:\s*\d", lines[-1]):
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
    pairs = settings_pairs(settings_line)
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
    size = re.fullmatch(r"(\d{1,6})x(\d{1,6})", pairs.get("Size", "").strip())
    if size:
        out["width"], out["height"] = int(size.group(1)), int(size.group(2))
    return _typed(out)


def _number(value: Any, kind: type, low: float, high: float) -> int | float | None:
    """A finite number within [low, high] from a number or short text; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    if isinstance(value, str) and len(value) > 40:
        return None
    try:
        whole = float(value) if "." in str(value) or isinstance(value, float) else int(value)
        number = float(value) if kind is float else int(whole)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number) or not low <= number <= high:
        return None
    return kind(number)


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    """Each known setting coerced to its type and range or dropped (never raised); texts
    must be text; unknown keys are kept as they are for the caller to ignore."""
    out = dict(values)
    for name, (kind, low, high) in _NUMBERS.items():
        if name in out:
            number = _number(out[name], kind, low, high)
            if number is None:
                del out[name]
            else:
                out[name] = number
    for name in _TEXTS:
        if name in out and not isinstance(out[name], str):
            del out[name]
    return out


def read_settings(path: Path) -> dict[str, Any]:
    """The settings a PNG carries; StudioError if it carries none or is not a readable PNG."""
    try:
        with Image.open(path) as image:
            text = dict(getattr(image, "text", {}) or {})
    except (UnidentifiedImageError, *PIL_ERRORS) as exc:
        raise StudioError(f"Cannot read {Path(path).name} as an image.", str(exc)) from exc
    if text.get(RECIPE_KEY):
        try:
            recipe = parse_json(text[RECIPE_KEY], max_bytes=MAX_TEXT * 16)
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
