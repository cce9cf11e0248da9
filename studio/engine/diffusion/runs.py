"""One request turned into pipeline calls: mode, seeds, batches, variations, inpaint crop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from studio.engine.diffusion import inpaint
from studio.engine.diffusion.controlnet import control_image
from studio.engine.requests import GenerationRequest
from studio.errors import InvalidRequestError

PROMPT_SYNTAXES = ("plain", "a1111")


@dataclass
class Plan:
    """The pipeline to call, its fixed arguments, and how to turn its output into the picture."""

    pipe: Any
    kwargs: dict[str, Any]
    crop: inpaint.Crop | None = None
    picture: np.ndarray | None = None  # the full picture an inpaint crop is pasted back into
    notes: dict[str, Any] = field(default_factory=dict)

    def finish(self, image: np.ndarray, request: GenerationRequest) -> np.ndarray:
        """HxWx3 uint8 model output -> the result (pasted back into the picture for inpaint)."""
        if self.crop is None or self.picture is None:
            return image
        return inpaint.paste_back(
            self.picture,
            np.asarray(request.mask),
            self.crop,
            image,
            request.mask_blur,
            request.color_match,
        )


def _pil(array: np.ndarray):
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(array))


def _resized(array: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    if array.shape[:2] == (height, width):
        return array
    return np.asarray(_pil(array).resize((width, height), Image.Resampling.BICUBIC))


def check_inputs(request: GenerationRequest) -> None:
    """Shapes and option values that only make sense together."""
    if request.mask is not None:
        if request.init_image is None:
            raise InvalidRequestError("Inpainting needs the picture (init image) with the mask.")
        if request.mask.shape != request.init_image.shape[:2]:
            raise InvalidRequestError(
                f"The mask is {request.mask.shape[1]}x{request.mask.shape[0]} but the picture is "
                f"{request.init_image.shape[1]}x{request.init_image.shape[0]}; they must match."
            )
        if not inpaint.binary(request.mask).any():
            raise InvalidRequestError("The mask is empty: paint where the picture should change.")
        if request.masked_content not in inpaint.MASKED_CONTENT:
            raise InvalidRequestError(
                f"Masked content must be one of {', '.join(inpaint.MASKED_CONTENT)}, "
                f"got {request.masked_content!r}."
            )
    semantic = request.label_map is not None or request.control_image is not None
    if semantic and not request.controlnet_path:
        raise InvalidRequestError("Semantic generation needs a ControlNet model (seg).")
    if not 1 <= request.batch_size <= 16 or not 1 <= request.batch_count <= 100:
        raise InvalidRequestError(
            f"Batch size must be 1-16 and batch count 1-100, got {request.batch_size} and "
            f"{request.batch_count}."
        )
    if request.variation_seed is not None:
        if not 0.0 <= request.variation_strength <= 1.0:
            raise InvalidRequestError(
                f"Variation strength must be between 0 and 1, got {request.variation_strength}."
            )
        if request.init_image is not None:
            raise InvalidRequestError("Variation seeds work for generation from noise only.")
    if request.regions:
        _check_regions(request)
    if request.prompt_syntax not in PROMPT_SYNTAXES:
        raise InvalidRequestError(
            f"Prompt syntax must be one of {', '.join(PROMPT_SYNTAXES)}, got "
            f"{request.prompt_syntax!r}."
        )
    if request.prompt_b is not None:
        if not 0.0 <= request.prompt_mix <= 1.0:
            raise InvalidRequestError(
                f"The prompt mix must be between 0 and 1, got {request.prompt_mix}."
            )
        if request.refiner_path:
            raise InvalidRequestError("Walking between prompts does not work with a refiner.")
    if request.refiner_path and not 0.0 < request.refiner_switch < 1.0:
        raise InvalidRequestError(
            f"The refiner switch must be between 0 and 1, got {request.refiner_switch}."
        )


def _check_regions(request: GenerationRequest) -> None:
    if request.region_map is None:
        raise InvalidRequestError("Regional prompts need the map of their regions.")
    if int(request.region_map.max()) > len(request.regions):
        raise InvalidRequestError(
            f"The region map names region {int(request.region_map.max())} but only "
            f"{len(request.regions)} regions have words."
        )
    if request.prompt_b is not None or request.refiner_path:
        raise InvalidRequestError(
            "Regional prompts work without a prompt walk or a refiner: turn those off."
        )
    if request.mask is not None and request.region_map.shape != request.mask.shape:
        raise InvalidRequestError("The regions and the mask must be the same size.")


def make_plan(request: GenerationRequest, loaded: Any, controlnet: Any = None) -> Plan:
    """Choose the pipeline view and the mode-specific arguments."""
    is_inpaint_model = loaded.info.has("inpaint")
    base = dict(prompt=request.prompt, negative_prompt=request.negative_prompt or None)
    base.update(num_inference_steps=request.num_inference_steps)
    if request.mask is not None:
        return _inpaint_plan(request, loaded, controlnet, base)
    if controlnet is not None:
        cond = control_image(request)
        base.update(controlnet_conditioning_scale=request.control_scale)
        if is_inpaint_model:
            raise InvalidRequestError(
                "An inpainting model repaints only under a mask: add a mask to repaint a "
                "region from labels (ControlNet inpaint), or choose a normal model."
            )
        if request.init_image is not None:  # refine a picture (e.g. the SPADE draft) from labels
            init = _resized(np.asarray(request.init_image), request.width, request.height)
            base.update(image=_pil(init), control_image=_pil(cond), strength=request.strength)
            base.update(width=request.width, height=request.height)
            return Plan(loaded.view("controlnet-img2img", controlnet), base)
        base.update(image=_pil(cond), width=request.width, height=request.height)
        return Plan(loaded.view("controlnet", controlnet), base)
    if is_inpaint_model:
        # A 9-channel model always inpaints: txt2img/img2img are inpaint with a full mask.
        picture = request.init_image
        if picture is None:
            picture = np.full((request.height, request.width, 3), 127, np.uint8)
        picture = _resized(np.asarray(picture), request.width, request.height)
        full = np.full(picture.shape[:2], 255, np.uint8)
        strength = request.strength if request.init_image is not None else 1.0
        base.update(image=_pil(picture), mask_image=_pil(full), strength=strength)
        base.update(width=request.width, height=request.height)
        return Plan(loaded.view("inpaint"), base)
    if request.init_image is not None:
        init = _resized(np.asarray(request.init_image), request.width, request.height)
        base.update(image=_pil(init), strength=request.strength)
        return Plan(loaded.view("img2img"), base)
    base.update(width=request.width, height=request.height)
    return Plan(loaded.view("txt2img"), base)


def _inpaint_plan(request: GenerationRequest, loaded: Any, controlnet: Any, base: dict) -> Plan:
    picture = np.asarray(request.init_image)
    crop = inpaint.prepare(
        picture,
        np.asarray(request.mask),
        request.width,
        request.height,
        request.inpaint_padding,
        request.masked_content,
        request.seed,
    )
    strength = request.strength
    if request.masked_content == "latent noise":
        strength = 1.0  # nothing of the noise should survive
    mask_image = _pil(crop.mask.astype(np.uint8) * 255)
    base.update(image=_pil(crop.image), mask_image=mask_image, strength=strength)
    base.update(width=request.width, height=request.height)
    if controlnet is not None:
        x0, y0, x1, y1 = crop.box
        full = control_image(_FullSize(request, picture))
        cond = full[y0:y1, x0:x1]
        from PIL import Image

        cond = _pil(cond).resize((request.width, request.height), Image.Resampling.NEAREST)
        base.update(control_image=cond, controlnet_conditioning_scale=request.control_scale)
        pipe = loaded.view("controlnet-inpaint", controlnet)
    else:
        pipe = loaded.view("inpaint")
    notes = {"crop_box": list(crop.box), "strength_used": strength}
    return Plan(pipe, base, crop, picture, notes)


class _FullSize:
    """The request's labels seen at the picture's size (labels are painted on the canvas)."""

    def __init__(self, request: GenerationRequest, picture: np.ndarray) -> None:
        self.label_map = request.label_map
        self.control_image = request.control_image
        self.height, self.width = picture.shape[:2]


def seeds_for(request: GenerationRequest, run: int) -> list[int]:
    """Seeds of one run of the batch: seed, seed+1, … continuing across runs."""
    start = request.seed + run * request.batch_size
    return [(start + j) % 2**64 for j in range(request.batch_size)]


def generators(seeds: list[int]):
    import torch

    gens = [torch.Generator("cpu").manual_seed(s) for s in seeds]
    return gens[0] if len(gens) == 1 else gens


def slerp(a, b, t: float):
    """Spherical interpolation between two noise tensors (keeps the noise's norm)."""
    import torch

    flat_a, flat_b = a.flatten(1), b.flatten(1)
    dot = (flat_a * flat_b).sum(1) / (flat_a.norm(dim=1) * flat_b.norm(dim=1))
    omega = torch.acos(dot.clamp(-1, 1))[:, None]
    so = torch.sin(omega)
    lin = (1 - t) * flat_a + t * flat_b
    curved = (torch.sin((1 - t) * omega) / so) * flat_a + (torch.sin(t * omega) / so) * flat_b
    out = torch.where(so.abs() < 1e-6, lin, curved)
    return out.reshape(a.shape)


def skip_initial_noise(gens: Any, latents: Any) -> None:
    """Advance the run's generators past the initial noise the pipeline is not drawing.

    With `latents` given the pipeline draws no noise, so ancestral samplers would take their
    per-step noise from where the initial noise should have come; drawing it here keeps every
    sampler's image at variation strength 0 exactly the seed's image.
    """
    from diffusers.utils.torch_utils import randn_tensor

    shape = (1, *latents.shape[1:])
    for gen in gens if isinstance(gens, list) else [gens]:
        randn_tensor(shape, generator=gen, dtype=latents.dtype)


def variation_latents(request: GenerationRequest, pipe: Any, seeds: list[int]):
    """Initial noise mixing each seed's noise with the variation seed's (as diffusers draws it)."""
    import torch
    from diffusers.utils.torch_utils import randn_tensor

    channels = pipe.vae.config.latent_channels
    shape = (
        1,
        channels,
        request.height // pipe.vae_scale_factor,
        request.width // pipe.vae_scale_factor,
    )
    dtype = pipe.unet.dtype
    out = []
    for i, seed in enumerate(seeds):
        base = randn_tensor(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=dtype)
        var_seed = (request.variation_seed + i) % 2**64
        other = randn_tensor(
            shape, generator=torch.Generator("cpu").manual_seed(var_seed), dtype=dtype
        )
        out.append(slerp(base, other, request.variation_strength))
    return torch.cat(out).to(pipe.device)
