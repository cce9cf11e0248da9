"""What every front door hands a family to build a request: settings and inputs as plain data.

The window copies them out of its document (studio/session/inputs.py), `studio generate` reads
them from flags and files (studio/app/cli.py); both then call the same
`Family.build_request(mode, model_path, params, inputs)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from studio.engine.requests import MemorySettings, _frozen_copy


@dataclass(frozen=True)
class GenerateParams:
    """The artist's generation settings (the Generate dock's, or the CLI's flags)."""

    prompt: str = ""
    negative_prompt: str = ""
    prompt_syntax: str = "a1111"  # "a1111": weights, BREAK, long prompts; "plain": as diffusers
    steps: int = 20
    guidance_scale: float = 7.0
    seed: int = 0
    width: int = 512
    height: int = 512
    sampler: str = "Euler a"
    img2img: bool = False  # prompt mode: start from the picture
    strength: float = 0.75
    device: str | None = None
    dtype: str | None = None
    # --- inpaint
    inpaint_strength: float = 1.0
    mask_blur: int = 6
    only_masked: bool = True  # crop around the mask, render at the model's size, paste back
    inpaint_padding: int = 32
    masked_content: str = "original"
    color_match: bool = False
    inpaint_from_labels: bool = False
    # --- paint
    controlnet_path: str = ""
    control_scale: float = 1.0
    paint_from_canvas: bool = False
    paint_strength: float = 0.7
    label_set: str = ""  # GAN label space of the ids when no palette says it ("" = guess)
    # --- translate
    direction: str = "AtoB"
    dropout: bool | None = None
    tile: int = 512
    # --- sample (StyleGAN): a picture from the seed alone
    truncation: float = 1.0  # ψ
    noise_mode: str = "const"  # "const" | "random" | "none"
    class_index: int | None = None  # for class-conditional models
    mix_seed: int | None = None  # style mixing: take some layers' styles from this seed
    mix_layers: str = "fine"  # "coarse" | "middle" | "fine" | "A-B"
    translate_x: float = 0.0  # StyleGAN3 pan, in units of the picture
    translate_y: float = 0.0
    rotate: float = 0.0  # StyleGAN3 rotation, degrees
    # --- more options
    batch_count: int = 1
    batch_size: int = 1
    variation_seed: int | None = None
    variation_strength: float = 0.0
    loras: tuple[tuple[str, float], ...] = ()
    fuse_loras: bool = False
    embeddings: tuple[str, ...] = ()  # installed embedding files; a prompt uses one by its name
    regions: tuple[tuple[str, str], ...] = ()  # (label class name, its own words)
    refiner_path: str = ""
    refiner_switch: float = 0.8
    preview_decoder: str = ""  # "" linear, "vae" full VAE, or a TAESD path
    few_step: str = ""  # "" from the model, "off", "turbo", "lcm"
    record_cap_bytes: int = 256 * 2**20
    memory: MemorySettings = MemorySettings()

    @classmethod
    def from_values(cls, values: Mapping[str, Any] | Any, **changes: Any) -> GenerateParams:
        """From any object or mapping with (some of) these names; others are ignored."""
        get = values.get if isinstance(values, Mapping) else lambda n, d: getattr(values, n, d)
        known = {f.name: get(f.name, f.default) for f in fields(cls)}
        known = {k: v for k, v in known.items() if v is not _MISSING}
        known["loras"] = tuple((str(p), float(w)) for p, w in known.get("loras") or ())
        known["embeddings"] = tuple(str(p) for p in known.get("embeddings") or ())
        known["regions"] = tuple((str(n), str(w)) for n, w in known.get("regions") or ())
        known.update(changes)
        return cls(**known)


_MISSING = object()


@dataclass(frozen=True)
class Inputs:
    """What a front door took out of its document or files for one request (read-only arrays).

    `palette` describes `labels` ({"name": …, "entries": [{"value", "name", …}]}, a label layer's
    palette) when the ids come from a document; from a file, `label_space` names them instead
    (a label set such as "landscape" or "ade20k", or "ade20k+1" for ADE20K ids + 1, 0 = none)."""

    canvas: tuple[int, int]  # (width, height) the result must fill
    picture: np.ndarray | None = None  # HxWx3 uint8 (transparent parts filled where masked)
    mask: np.ndarray | None = None  # HxW uint8, >= 128 = repaint
    labels: np.ndarray | None = None  # HxW uint16 label ids
    palette: Mapping[str, Any] | None = None
    label_space: str | None = None
    colour_map: np.ndarray | None = None  # HxWx3 uint8 conditioning image ready to use
    label_colours: np.ndarray | None = None  # Nx3 uint8: an indexed label PNG's own colours
    reference: np.ndarray | None = None  # HxWx3 uint8 style / reference picture

    def __post_init__(self) -> None:
        for name, ndim, dtype in (
            ("picture", 3, np.uint8),
            ("mask", 2, np.uint8),
            ("labels", 2, np.uint16),
            ("colour_map", 3, np.uint8),
            ("reference", 3, np.uint8),
            ("label_colours", 2, np.uint8),
        ):
            object.__setattr__(self, name, _frozen_copy(getattr(self, name), dtype, ndim, name))


@dataclass(frozen=True)
class Built:
    """A request a family built, with what the front door keeps beside it."""

    request: Any
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # sources, for Re-run exactly
    notes: tuple[str, ...] = ()  # said to the artist (classes a model lacks, …)
    fit_to_canvas: bool = False  # the result is resized to the canvas to line up with it


def generation_fields(model_path: str, params: GenerateParams) -> dict[str, Any]:
    """The GenerationRequest fields every prompt model takes from the settings."""
    return dict(
        model_path=model_path,
        prompt=params.prompt,
        negative_prompt=params.negative_prompt,
        num_inference_steps=params.steps,
        guidance_scale=params.guidance_scale,
        seed=params.seed,
        width=params.width,
        height=params.height,
        sampler=params.sampler,
        strength=params.strength,
        device=params.device,
        dtype=params.dtype,
        batch_count=params.batch_count,
        batch_size=params.batch_size,
        variation_seed=params.variation_seed,
        variation_strength=params.variation_strength if params.variation_seed is not None else 0.0,
        loras=tuple(params.loras),
        fuse_loras=params.fuse_loras,
        refiner_path=params.refiner_path or None,
        refiner_switch=params.refiner_switch,
        preview_decoder=params.preview_decoder or None,
        few_step=params.few_step or None,
        record_cap_bytes=params.record_cap_bytes,
        memory=params.memory,
    )
