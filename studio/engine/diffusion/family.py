"""The Stable Diffusion family (SD 1.x, 2.x, SDXL; diffusers folders and single files): what
it recognises, runs and offers the Generate dock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.families import Family
from studio.engine.inputs import Built, GenerateParams, Inputs, generation_fields
from studio.engine.models.checkpoints import WEIGHT_SUFFIXES
from studio.engine.models.registry import ModelInfo
from studio.engine.requests import DecodeRequest, GenerationRequest
from studio.errors import StudioError

ADE_CLASSES = 150
MAX_PLAIN_BYTES = 75
SIZE_STEP = 64  # working sizes are multiples of 64: every SD family's UNet accepts them


def working_size(width: int, height: int, area: int) -> tuple[int, int]:
    """The canvas aspect at about `area` pixels, in multiples of 64 (at least 64 a side)."""
    scale = (area / max(1, width * height)) ** 0.5
    w = max(SIZE_STEP, int(round(width * scale / SIZE_STEP)) * SIZE_STEP)
    h = max(SIZE_STEP, int(round(height * scale / SIZE_STEP)) * SIZE_STEP)
    return w, h


def ade20k_values(inputs: Inputs) -> tuple[np.ndarray, tuple[str, ...]]:
    """Label ids -> ADE20K id + 1 (what ControlNet seg expects); classes ADE lacks -> 0."""
    if inputs.palette is None and inputs.label_space in (None, "ade20k+1"):
        return np.ascontiguousarray(inputs.labels, dtype=np.uint16), ()  # already ADE20K + 1
    from studio.engine.labels import label_set, map_labels, official_model_labels, palette_label_set

    if inputs.palette is not None:
        source = palette_label_set(dict(inputs.palette), inputs.palette.get("name"))
    else:
        source = label_set(str(inputs.label_space))
    mapped = map_labels(inputs.labels, source, official_model_labels("ade20k"))
    channels = mapped.channels
    values = np.where((channels >= 0) & (channels < ADE_CLASSES), channels + 1, 0)
    notes: tuple[str, ...] = ()
    if mapped.unknown:
        names = ", ".join(sorted(mapped.unknown))
        notes = (f"ControlNet seg has no class for {names}; painted there as unlabeled",)
    return values.astype(np.uint16), notes


def prompt_syntax(params: GenerateParams) -> str:
    """ "a1111" when the prompts need it (weights, BREAK, maybe past 75 tokens), else "plain":
    both read short plain words identically, and plain keeps such recipes as they were."""
    if params.prompt_syntax != "a1111":
        return "plain"
    from studio.engine.diffusion.prompt_syntax import uses_syntax

    for text in (params.prompt, params.negative_prompt):
        # a token covers at least one UTF-8 byte: 75 bytes never need a second chunk
        if uses_syntax(text) or len(text.encode("utf-8")) > MAX_PLAIN_BYTES:
            return "a1111"
    return "plain"


def region_fields(params: GenerateParams, inputs: Inputs, fields: dict, arrays: dict) -> tuple:
    """Regional prompts: the classes with words that are painted, as a region map."""
    from studio.engine.diffusion.region_map import region_map

    wanted = [(n, w.strip()) for n, w in params.regions if w.strip()]
    if not wanted or inputs.labels is None:
        return ()
    regions, values, notes = region_map(inputs, wanted)
    if regions:
        fields.update(regions=regions, region_map=values)
        arrays["region_map"] = values
    return notes


def _control_fields(params: GenerateParams) -> dict[str, Any]:
    if not params.controlnet_path:
        raise StudioError(
            "Generating from labels needs a segmentation ControlNet for the chosen model: put "
            "one (e.g. control_v11p_sd15_seg) in the models folder and choose it in the Paint tab."
        )
    return dict(controlnet_path=params.controlnet_path, control_scale=params.control_scale)


def _labels(inputs: Inputs, fields: dict, arrays: dict) -> tuple[str, ...]:
    """Label map (or a ready colour map) into the request's conditioning fields."""
    if inputs.colour_map is not None:
        fields["control_image"] = arrays["control_image"] = inputs.colour_map
        return ()
    values, notes = ade20k_values(inputs)
    fields["label_map"] = arrays["label_map"] = values
    return notes


class DiffusionFamily(Family):
    name = "diffusion"
    title = "Stable Diffusion"
    request_types = (GenerationRequest, DecodeRequest)
    modes = ("prompt", "paint", "inpaint")
    generic = True  # prompt requests go here unless their model is another family's
    preflight = True
    controlnet_for_labels = True
    suffixes = tuple(sorted(WEIGHT_SUFFIXES))
    markers = ("model_index.json", "config.json")

    def recognises(self, path: Path) -> bool:
        path = Path(path)
        if path.is_dir():
            return any((path / m).is_file() for m in self.markers)
        return path.suffix.lower() in WEIGHT_SUFFIXES

    def inspect(self, path: Path) -> ModelInfo | None:
        from studio.engine.diffusion.embeddings import inspect_embedding
        from studio.engine.diffusion.inspect import inspect_diffusers_folder, inspect_sd_file

        path = Path(path)
        if path.is_dir():
            return inspect_diffusers_folder(path)
        return inspect_embedding(path) or inspect_sd_file(path)

    def needs(self, mode: str, params: GenerateParams) -> frozenset[str]:
        """As every prompt model, plus the labels when inpainting with regional prompts."""
        needs = super().needs(mode, params)
        if mode == "inpaint" and any(words.strip() for _, words in params.regions):
            needs |= {"labels"}
        return needs

    def make_engine(self, cache: Any = None) -> Any:
        from studio.engine.diffusion.engine import DiffusionEngine

        return DiffusionEngine(shared=cache)

    def build_request(
        self, mode: str, model_path: str, params: GenerateParams, inputs: Inputs
    ) -> Built:
        fields = generation_fields(model_path, params)
        fields["prompt_syntax"] = prompt_syntax(params)
        if params.embeddings:
            from studio.engine.diffusion.embeddings import used_in

            texts = (params.prompt, params.negative_prompt)
            fields["embeddings"] = used_in(texts, params.embeddings)
        arrays: dict[str, np.ndarray] = {}
        notes: tuple[str, ...] = ()
        canvas_w, canvas_h = inputs.canvas
        area = params.width * params.height
        if mode == "inpaint":
            fields.update(
                init_image=inputs.picture,
                mask=inputs.mask,
                strength=params.inpaint_strength,
                mask_blur=params.mask_blur,
                inpaint_padding=params.inpaint_padding if params.only_masked else None,
                masked_content=params.masked_content,
                color_match=params.color_match,
            )
            if not params.only_masked:  # the whole picture at the model's size, canvas aspect
                fields["width"], fields["height"] = working_size(canvas_w, canvas_h, area)
            arrays.update(init_image=inputs.picture, mask=inputs.mask)
            notes = region_fields(params, inputs, fields, arrays)
            if params.inpaint_from_labels or inputs.colour_map is not None:
                fields.update(_control_fields(params))
                notes += _labels(inputs, fields, arrays)
            return Built(GenerationRequest(**fields), arrays, notes)
        if mode == "paint":
            fields["width"], fields["height"] = working_size(canvas_w, canvas_h, area)
            notes = region_fields(params, inputs, fields, arrays)
            if params.controlnet_path or not fields.get("regions"):  # regions alone need none
                fields.update(_control_fields(params))
                notes += _labels(inputs, fields, arrays)
            if inputs.picture is not None:  # the refine pass over what is on screen
                fields.update(init_image=inputs.picture, strength=params.paint_strength)
                arrays["init_image"] = inputs.picture
            return Built(GenerationRequest(**fields), arrays, notes, fit_to_canvas=True)
        if mode != "prompt":
            return super().build_request(mode, model_path, params, inputs)
        if inputs.picture is not None:
            fields.update(init_image=inputs.picture, strength=params.strength)
            arrays["init_image"] = inputs.picture
        return Built(GenerationRequest(**fields), arrays)

    def request_from_recipe(self, recipe: dict, arrays: dict[str, Any]) -> Any:
        from studio.engine.recipe import request_from_recipe

        return request_from_recipe(recipe, **arrays)


FAMILY = DiffusionFamily()
