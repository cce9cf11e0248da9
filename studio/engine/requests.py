"""Frozen data that crosses threads: generation requests, step previews and results (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _frozen_copy(array: np.ndarray | None, dtype: type, ndim: int, name: str) -> np.ndarray | None:
    """Return a read-only private copy so that no thread can change what another one reads."""
    if array is None:
        return None
    out = np.array(array, dtype=dtype, copy=True)
    if out.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {out.shape}")
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class GenerationRequest:
    """Everything one prompt generation needs, copied out of the document."""

    model_path: str
    prompt: str
    negative_prompt: str = ""
    num_inference_steps: int = 20
    guidance_scale: float = 7.0
    seed: int = 0
    width: int = 512
    height: int = 512
    sampler: str = "Euler a"
    init_image: np.ndarray | None = None  # HxWx3 uint8, img2img when set
    strength: float = 0.75
    device: str | None = None  # None: automatic choice
    dtype: str | None = None  # "float32" | "float16" | "bfloat16" | None: automatic

    def __post_init__(self) -> None:
        image = _frozen_copy(self.init_image, np.uint8, 3, "init_image")
        if image is not None and image.shape[2] == 4:
            image = _frozen_copy(image[:, :, :3], np.uint8, 3, "init_image")
        object.__setattr__(self, "init_image", image)
        if image is not None and image.shape[2] != 3:
            raise ValueError(f"init_image must be HxWx3 or HxWx4, got shape {image.shape}")

    @property
    def mode(self) -> str:
        return "img2img" if self.init_image is not None else "txt2img"

    def describe(self) -> dict[str, Any]:
        """The request as plain JSON-able values (images left out)."""
        return {
            "mode": self.mode,
            "model": self.model_path,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "num_inference_steps": self.num_inference_steps,
            "guidance_scale": self.guidance_scale,
            "seed": self.seed,
            "width": self.width,
            "height": self.height,
            "sampler": self.sampler,
            "strength": self.strength if self.init_image is not None else None,
        }


@dataclass(frozen=True)
class StepPreview:
    """One streamed step: a cheap RGB preview of the predicted clean image."""

    step: int  # 1-based index of the finished step; 0 while loading
    total: int  # number of steps this run will make
    image: np.ndarray | None  # hxwx3 uint8 (latent resolution), None while loading
    elapsed: float  # seconds since denoising started
    phase: str = "denoising"  # "loading" | "denoising"

    def __post_init__(self) -> None:
        object.__setattr__(self, "image", _frozen_copy(self.image, np.uint8, 3, "image"))


@dataclass(frozen=True)
class GenerationResult:
    """A finished (or cancelled, then `draft`) generation."""

    image: np.ndarray  # HxWx3 uint8 at the requested size
    request: GenerationRequest
    recipe: dict[str, Any] = field(default_factory=dict)
    draft: bool = False
    steps_done: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "image", _frozen_copy(self.image, np.uint8, 3, "image"))
