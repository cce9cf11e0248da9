"""Per-document generation settings, as the Generate dock edits them."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from studio.engine.diffusion.inpaint import MASKED_CONTENT
from studio.engine.diffusion.samplers import DEFAULT_SAMPLER, sampler_names

MODES = ("prompt", "paint", "inpaint", "translate", "sample")
# The choices the Generate dock offers for two settings (the UI reads them here, not from a
# model family's engine folder)
SAMPLER_CHOICES = tuple(sampler_names())
MASKED_CONTENT_CHOICES = MASKED_CONTENT


@dataclass
class PromptSettings:
    """What the artist has set; copied into a frozen request at Generate time."""

    model_path: str = ""
    prompt: str = ""
    negative_prompt: str = ""
    steps: int = 20
    guidance_scale: float = 7.0
    seed: int = 0
    random_seed: bool = True
    width: int = 512
    height: int = 512
    sampler: str = DEFAULT_SAMPLER
    img2img: bool = False
    strength: float = 0.75
    device: str | None = None
    dtype: str | None = None
    mode: str = "prompt"  # the Generate dock tab: prompt | paint | inpaint | translate | sample
    # --- Inpaint tab
    inpaint_strength: float = 1.0
    mask_blur: int = 6
    only_masked: bool = True  # crop around the mask, render at the model's size, paste back
    inpaint_padding: int = 32
    masked_content: str = "original"
    color_match: bool = False
    inpaint_from_labels: bool = False  # also condition on the label layer (ControlNet inpaint)
    # --- Paint tab (diffusion refine; the SPADE draft has its own controller)
    controlnet_path: str = ""
    control_scale: float = 1.0
    paint_from_canvas: bool = False  # refine the visible picture (e.g. the SPADE draft)
    paint_strength: float = 0.7
    # --- Sample tab (StyleGAN): the picture from the seed alone
    truncation: float = 1.0
    noise_mode: str = "const"
    class_index: int | None = None
    mix_seed: int | None = None
    mix_layers: str = "fine"
    translate_x: float = 0.0
    translate_y: float = 0.0
    rotate: float = 0.0
    # --- More options (every diffusion mode)
    batch_count: int = 1
    batch_size: int = 1
    variation_seed: int | None = None
    variation_strength: float = 0.0
    loras: list[tuple[str, float]] = field(default_factory=list)
    refiner_path: str = ""
    refiner_switch: float = 0.8
    preview_decoder: str = ""  # "" linear, "vae" full VAE, or a TAESD path
    few_step: str = ""  # "" from the model, "off", "turbo", "lcm"


NOT_STORED = ("device", "dtype", "model_path")  # Preferences and the model list keep these


def stored_values(settings: PromptSettings) -> dict[str, str]:
    """Every setting as JSON text, for QSettings (window restarts) and project files."""
    return {
        f.name: json.dumps(getattr(settings, f.name))
        for f in fields(settings)
        if f.name not in NOT_STORED
    }


MAX_TEXT = 100_000  # characters in one text setting (a prompt longer than this is damage)
MAX_NUMBER_TEXT = 40  # digits of a number written as text: int("9" * 10**6) is quadratic


def _number(value: Any, kind: type) -> int | float:
    """A finite int or float from a number or short numeric text; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"not a number: {type(value).__name__}")
    if isinstance(value, str) and len(value) > MAX_NUMBER_TEXT:
        raise ValueError("number text too long")
    number = float(value) if kind is float or isinstance(value, float) else int(value)
    if not math.isfinite(number) or abs(number) > 2**63:
        raise ValueError(f"{value!r} is not a usable number")
    if kind is int and number != int(number):
        raise ValueError(f"{value!r} is not a whole number")
    return kind(number)


def _loras(value: Any) -> list[tuple[str, float]]:
    if not isinstance(value, list) or len(value) > 64:
        raise ValueError("loras must be a short list")
    out = []
    for item in value:
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)):
            raise ValueError("each lora is [path, weight]")
        out.append((item[0], _number(item[1], float)))
    return out


def _coerce(value: Any, default: Any) -> Any:
    """A stored value in the type of the field's default; ValueError/TypeError if it cannot be
    (wrong type, non-finite, too long): one field is refused, never the whole document."""
    if value is None:
        if default is None:
            return None
        raise ValueError("missing value")
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError(f"not yes/no: {str(value)[:20]}")
    if isinstance(default, list):
        return _loras(value)
    if isinstance(default, (int, float)):
        return _number(value, type(default))
    if isinstance(value, (dict, list)) or (isinstance(value, str) and len(value) > MAX_TEXT):
        raise ValueError("not a short text")
    if default is None and not isinstance(value, str):  # optional ints (variation seed)
        return _number(value, int)
    return str(value)


def _set(settings: PromptSettings, name: str, value: Any) -> bool:
    try:
        setattr(settings, name, _coerce(value, getattr(settings, name)))
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def restore_values(settings: PromptSettings, get: Callable[[str], Any]) -> None:
    """Read what stored_values wrote (older plain values too); bad values keep the default."""
    for f in fields(settings):
        if f.name in NOT_STORED:
            continue
        raw = get(f.name)
        if raw is None:
            continue
        value = raw
        if isinstance(raw, str):
            try:
                value = json.loads(raw)
            except (ValueError, RecursionError):
                value = raw  # written as plain text by an older Studio
        _set(settings, f.name, value)
    if settings.mode not in MODES:
        settings.mode = "prompt"


def apply_values(settings: PromptSettings, values: Any) -> list[str]:
    """A project's stored settings through the schema: only the fields PromptSettings has
    (never methods or dunders), each coerced to its type or refused; the refused names."""
    if not isinstance(values, dict):
        return ["settings"]
    known = {f.name for f in fields(settings)} - set(NOT_STORED)
    refused = [str(k)[:40] for k in values if k not in known]
    for name in known & set(values):
        if not _set(settings, name, values[name]):
            refused.append(name)
    if settings.mode not in MODES:
        settings.mode = "prompt"
    return refused


# ---- window-wide choices, kept in the app's QSettings (not per document) ------------------
FIRST_RUN_DISMISSED = "first_run/dismissed"  # "Don't show again" on the starter-models banner
LIVE_DRAFT_MODEL = "live_draft/model_path"  # the SPADE the artist picked ("" = none picked)
LIVE_DRAFT_ENABLED = "live_draft/enabled"  # "Draft while painting" as the artist last set it


def stored_flag(store: Any, key: str) -> bool | None:
    """A yes/no the artist set (QSettings' INI files give "true"/"false" text); None if unset."""
    value = store.value(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes")
