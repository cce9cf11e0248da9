"""Frozen data that crosses threads: generation requests, step previews and results (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
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
class ResumeState:
    """Where a cancelled run stopped: latents, scheduler state and RNG, to continue exactly."""

    loop_index: int  # the pipeline loop iteration the run stopped after (0-based)
    steps_done: int  # visible steps finished
    latents: np.ndarray  # BxCxHxW float32: the noisy state after that iteration
    scheduler_state: tuple[tuple[str, Any], ...]  # (attribute, encoded value) pairs
    generator_states: tuple[np.ndarray, ...]  # torch.Generator.get_state() bytes, per image
    sampler: str
    num_inference_steps: int
    seed: int

    def __post_init__(self) -> None:
        latents = np.array(self.latents, dtype=np.float32, copy=True)
        latents.setflags(write=False)
        object.__setattr__(self, "latents", latents)
        states = tuple(
            _frozen_copy(s, np.uint8, 1, "generator state") for s in self.generator_states
        )
        object.__setattr__(self, "generator_states", states)


@dataclass(frozen=True)
class MemorySettings:
    """How a job trades speed for memory: a preset plus explicit choices (None = the preset's)."""

    preset: str = "auto"  # "auto" | "fast" | "balanced" | "low" | "minimal"
    vae_tiling: bool | None = None  # decode the picture in overlapping tiles
    vae_slicing: bool | None = None  # decode a batch one image at a time
    attention_slicing: bool | None = None  # only used where fused attention (SDPA) is missing
    offload: str | None = None  # "none" | "model" | "sequential" (GPU only)
    oom_retry: bool = True  # on out of memory, retry once with safer settings
    # which safer settings that retry may use: "vae_tiling" (tiled VAE, one image at a time),
    # "batch" (a batch of 1, same images), "offload" (model CPU offload, GPU only)
    retry_with: tuple[str, ...] = ("vae_tiling", "batch", "offload")


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
    # --- inpainting (mask set): the init image is the picture, white mask pixels are repainted
    mask: np.ndarray | None = None  # HxW uint8, >= 128 = repaint
    mask_blur: int = 6  # feather width in pixels for blending the result back
    inpaint_padding: int | None = 32  # "only masked": context around the mask; None = whole image
    masked_content: str = "original"  # "original" | "fill" | "latent noise"
    color_match: bool = False  # match the repainted region's colour statistics to its border
    # --- semantic (ControlNet seg): label ids rendered to the ADE20K colours the model expects
    label_map: np.ndarray | None = None  # HxW uint16: ADE20K id + 1, 0 = unlabeled (black)
    control_image: np.ndarray | None = None  # HxWx3 uint8, a ready conditioning image instead
    controlnet_path: str | None = None
    control_scale: float = 1.0
    # --- batches, variations, refiner, LoRA, few-step models, previews
    batch_size: int = 1  # images per denoising run
    batch_count: int = 1  # runs, seeds seed, seed+1, …
    variation_seed: int | None = None
    variation_strength: float = 0.0  # 0 = the seed's image, 1 = the variation seed's image
    refiner_path: str | None = None  # SDXL refiner taking over at refiner_switch of the steps
    refiner_switch: float = 0.8
    loras: tuple[tuple[str, float], ...] = ()  # (file, weight) pairs
    fuse_loras: bool = False
    few_step: str | None = None  # None: from the model; "off" | "turbo" | "lcm"
    preview_decoder: str | None = None  # TAESD folder/file, "vae" (full VAE), None = linear
    prompt_b: str | None = None  # a second prompt to walk towards (text embeddings mixed)
    prompt_mix: float = 0.0  # 0 = prompt, 1 = prompt_b
    # "plain": the words as diffusers reads them (77 tokens); "a1111": (word:1.3), [word], BREAK,
    # past 77 tokens in chunks (engine/diffusion/weighting.py)
    prompt_syntax: str = "plain"
    embeddings: tuple[str, ...] = ()  # textual-inversion files the prompts call by name
    # --- regional prompts: region k's words reach only the pixels where region_map == k
    regions: tuple[tuple[str, str], ...] = ()  # (class name, words), regions 1..K
    region_map: np.ndarray | None = None  # HxW uint8 at the label map's size, 0 = no region
    resume: ResumeState | None = None  # continue a cancelled run (same seed, sampler, steps)
    record_cap_bytes: int = 256 * 2**20  # full-size step frames kept in memory; 0 = thumbs only
    memory: MemorySettings = MemorySettings()

    def __post_init__(self) -> None:
        image = _frozen_copy(self.init_image, np.uint8, 3, "init_image")
        if image is not None and image.shape[2] == 4:
            image = _frozen_copy(image[:, :, :3], np.uint8, 3, "init_image")
        object.__setattr__(self, "init_image", image)
        if image is not None and image.shape[2] != 3:
            raise ValueError(f"init_image must be HxWx3 or HxWx4, got shape {image.shape}")
        object.__setattr__(self, "mask", _frozen_copy(self.mask, np.uint8, 2, "mask"))
        labels = _frozen_copy(self.label_map, np.uint16, 2, "label_map")
        object.__setattr__(self, "label_map", labels)
        control = _frozen_copy(self.control_image, np.uint8, 3, "control_image")
        object.__setattr__(self, "control_image", control)
        object.__setattr__(self, "loras", tuple((str(p), float(w)) for p, w in self.loras))
        object.__setattr__(self, "embeddings", tuple(str(p) for p in self.embeddings))
        object.__setattr__(self, "regions", tuple((str(n), str(w)) for n, w in self.regions))
        regions = _frozen_copy(self.region_map, np.uint8, 2, "region_map")
        object.__setattr__(self, "region_map", regions)

    @property
    def mode(self) -> str:
        """txt2img | img2img | inpaint | semantic | semantic-inpaint."""
        semantic = self.label_map is not None or self.control_image is not None
        if self.mask is not None:
            return "semantic-inpaint" if semantic else "inpaint"
        if semantic:
            return "semantic"
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
            **self._describe_extras(),
        }

    def _describe_extras(self) -> dict[str, Any]:
        """Only the options in use, so a plain txt2img recipe stays short."""
        out: dict[str, Any] = {}
        if self.mask is not None:
            out.update(
                mask_blur=self.mask_blur,
                inpaint_padding=self.inpaint_padding,
                masked_content=self.masked_content,
                color_match=self.color_match,
            )
        if self.label_map is not None or self.control_image is not None:
            out.update(controlnet=self.controlnet_path, control_scale=self.control_scale)
        if self.batch_size != 1 or self.batch_count != 1:
            out.update(batch_size=self.batch_size, batch_count=self.batch_count)
        if self.variation_seed is not None:
            out.update(
                variation_seed=self.variation_seed, variation_strength=self.variation_strength
            )
        if self.refiner_path:
            out.update(refiner=self.refiner_path, refiner_switch=self.refiner_switch)
        if self.loras:
            out.update(loras=[list(pair) for pair in self.loras], fuse_loras=self.fuse_loras)
        if self.few_step is not None:
            out.update(few_step=self.few_step)
        if self.prompt_b is not None:
            out.update(prompt_b=self.prompt_b, prompt_mix=self.prompt_mix)
        if self.prompt_syntax != "plain":
            out.update(prompt_syntax=self.prompt_syntax)
        if self.embeddings:
            out.update(embeddings=[Path(p).stem for p in self.embeddings])
        if self.regions:
            out.update(regions=[list(pair) for pair in self.regions])
        if self.resume is not None:
            out.update(resumed_from_step=self.resume.steps_done)
        return out


@dataclass(frozen=True)
class StepPreview:
    """One streamed step: a cheap RGB preview of the predicted clean image."""

    step: int  # 1-based index of the finished step; 0 while loading
    total: int  # number of steps this run will make
    image: np.ndarray | None  # hxwx3 uint8 (latent resolution), None while loading
    elapsed: float  # seconds since denoising started
    phase: str = "denoising"  # "loading" | "denoising"
    record: RunRecord | None = None  # the steps recorded so far (frozen frames), if recording

    def __post_init__(self) -> None:
        object.__setattr__(self, "image", _frozen_copy(self.image, np.uint8, 3, "image"))


def _frozen_optional(array: np.ndarray | None, dtype: type) -> np.ndarray | None:
    if array is None:
        return None
    out = np.array(array, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class StepFrame:
    """One recorded denoising step; the full-size fields may be dropped (None) for memory."""

    step: int  # 1-based visible step
    timestep: float  # the timestep the model saw
    sigma: float  # noise level sqrt((1 - a) / a) the step started from
    sigma_next: float  # noise level of x_t after the step
    seconds: float  # wall time of this step (model, scheduler and preview)
    change: float  # mean |x0 - previous x0| in model units: latent, or pixels in -1..1
    thumb_xt: np.ndarray  # hxwx3 uint8 thumbnails, always kept
    thumb_x0: np.ndarray
    xt: np.ndarray | None = None  # hxwx3 uint8 at model resolution: noisy state after the step
    x0: np.ndarray | None = None  # predicted clean image
    noise: np.ndarray | None = None  # what this step removed (x_t before - after), stretched
    x0_latent: np.ndarray | None = None  # CxHxW float16, for a full decode (latent models)

    def __post_init__(self) -> None:
        for name in ("thumb_xt", "thumb_x0", "xt", "x0", "noise"):
            object.__setattr__(self, name, _frozen_optional(getattr(self, name), np.uint8))
        object.__setattr__(self, "x0_latent", _frozen_optional(self.x0_latent, np.float16))

    @property
    def full_bytes(self) -> int:
        """Bytes of the droppable full-size data."""
        parts = (self.xt, self.x0, self.noise, self.x0_latent)
        return sum(p.nbytes for p in parts if p is not None)

    @property
    def has_full(self) -> bool:
        return self.x0 is not None


@dataclass(frozen=True)
class RunRecord:
    """Every recorded step of one run (batch item 0), in order."""

    frames: tuple[StepFrame, ...]
    total: int  # steps planned
    width: int  # output size in pixels
    height: int
    sampler: str = ""
    family: str = "sd1"
    cap_bytes: int = 0
    dropped: int = 0  # frames whose full-size data was dropped for the cap
    space: str = "latent"  # "pixels": a pixel-space model, x0 is the exact picture (no decode)

    @property
    def decodable(self) -> bool:
        """True when a step's x0 can be decoded further (a VAE latent model)."""
        return self.space == "latent"

    def __len__(self) -> int:
        return len(self.frames)


@dataclass(frozen=True)
class GenerationResult:
    """A finished (or cancelled, then `draft`) generation."""

    image: np.ndarray  # HxWx3 uint8 at the requested size
    request: GenerationRequest
    recipe: dict[str, Any] = field(default_factory=dict)
    draft: bool = False
    steps_done: int = 0
    seconds: float = 0.0
    images: tuple[np.ndarray, ...] = ()  # every image of a batch (the first is `image`)
    record: RunRecord | None = None  # every step of the run (kept for drafts too)
    resume: ResumeState | None = None  # drafts: how to continue this run exactly

    def __post_init__(self) -> None:
        object.__setattr__(self, "image", _frozen_copy(self.image, np.uint8, 3, "image"))
        batch = tuple(_frozen_copy(i, np.uint8, 3, "images") for i in self.images)
        object.__setattr__(self, "images", batch or (self.image,))


@dataclass(frozen=True)
class DecodeRequest:
    """Decode one recorded step's x0 latent with the full VAE (or a TAESD) on the worker."""

    model_path: str
    latent: np.ndarray  # CxHxW float16, model space (as recorded)
    width: int  # output size in pixels (the decode is resized to it when it differs)
    height: int
    decoder: str | None = None  # None: the model's own VAE; else a TAESD folder/file
    device: str | None = None
    dtype: str | None = None
    step: int = 0  # which step this is, for the caller

    def __post_init__(self) -> None:
        latent = _frozen_copy(self.latent, np.float16, 3, "latent")
        object.__setattr__(self, "latent", latent)


@dataclass(frozen=True)
class DecodeResult:
    """A decoded step: HxWx3 uint8 at the requested size."""

    image: np.ndarray
    request: DecodeRequest
    seconds: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "image", _frozen_copy(self.image, np.uint8, 3, "image"))
