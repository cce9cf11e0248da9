"""Per-document generation settings, as the Generate dock edits them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from studio.engine.diffusion.inpaint import MASKED_CONTENT
from studio.engine.diffusion.samplers import DEFAULT_SAMPLER, sampler_names

MODES = ("prompt", "paint", "inpaint", "translate")
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
    mode: str = "prompt"  # the Generate dock tab: prompt | paint | inpaint | translate
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


def _coerce(value: Any, default: Any) -> Any:
    """A stored value in the type of the field's default (None stays None where allowed)."""
    if value is None or default is None:
        return value
    if isinstance(default, bool):
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if isinstance(default, list):
        return [tuple(x) for x in value] if isinstance(value, list) else default
    return type(default)(value)


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
            except ValueError:
                value = raw  # written as plain text by an older Studio
        try:
            setattr(settings, f.name, _coerce(value, getattr(settings, f.name)))
        except (TypeError, ValueError):
            continue
    if settings.mode not in MODES:
        settings.mode = "prompt"


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
