"""The starter family: the project's own small pixel-space diffusion (a starter.json folder).

It takes the same GenerationRequest as Stable Diffusion, always at the canvas size (it samples
at its native 128² and resizes), and reads Landscape label values itself (no ControlNet)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.families import Family
from studio.engine.inputs import Built, GenerateParams, Inputs, generation_fields
from studio.engine.models.registry import ModelInfo, folder_size
from studio.engine.requests import GenerationRequest
from studio.engine.starter import vocab

MARKER = "starter.json"


def landscape_values(
    labels: np.ndarray, palette: Any = None, label_space: str | None = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """HxW uint16 Landscape values 0..24 of a label map (other palettes mapped by class name).
    Without a palette the ids are taken as Landscape values (a file's label map)."""
    pixels = np.asarray(labels)
    name = str((palette or {}).get("name", label_space or "landscape"))
    if palette is None or name.lower() == "landscape":
        return np.ascontiguousarray(pixels, dtype=np.uint16), ()
    lut = np.zeros(int(pixels.max(initial=0)) + 1, np.uint16)
    unknown = []
    for entry in palette.get("entries", ()):
        value, cls = int(entry["value"]), str(entry["name"])
        if value < len(lut) and cls.lower() in vocab.MATERIALS:
            lut[value] = vocab.material_value(cls.lower())
        elif value < len(lut) and (pixels == value).any():
            unknown.append(cls)
    notes = ()
    if unknown:
        notes = (f"The starter has no class for {', '.join(sorted(unknown))}; left unlabeled",)
    return lut[pixels], notes


class StarterFamily(Family):
    name = "starter"
    title = "Starter"
    request_types = (GenerationRequest,)
    modes = ("prompt", "paint", "inpaint")
    markers = (MARKER,)
    defaults = {"guidance_scale": 3.0}  # trained for CFG ~3; 7 burns its colours

    def recognises(self, path: Path) -> bool:
        return (Path(path) / MARKER).is_file()

    def inspect(self, path: Path) -> ModelInfo | None:
        """A starter diffusion folder (starter.json + unet/): a prompt model, CPU-sized."""
        if not self.recognises(path):
            return None
        from studio.engine.starter.model import WEIGHTS_NAME, read_starter_config

        cfg = read_starter_config(path)  # ModelLoadError if it is not ours
        problem = None
        if not (path / "unet" / WEIGHTS_NAME).is_file():
            problem = f"the weights file unet/{WEIGHTS_NAME} is missing"
        note = (
            f"Runs at {cfg.native_size}x{cfg.native_size} and is resized to the canvas; it "
            "knows landscape words (time, weather, season, materials) only."
        )
        return ModelInfo(
            path.name, str(path), "sd-pipeline", "starter", "starter", folder_size(path),
            problem, notes=(note,), starter=True, owner=self.name,
        )  # fmt: skip

    def unknown_words(self, prompt: str) -> tuple[str, ...]:
        return tuple(vocab.read_prompt(prompt).ignored)

    def make_engine(self, cache: Any = None) -> Any:
        from studio.engine.starter.engine import StarterEngine

        return StarterEngine(shared=cache)

    def build_request(
        self, mode: str, model_path: str, params: GenerateParams, inputs: Inputs
    ) -> Built:
        """Always the canvas size: the starter runs at 128² and is resized."""
        width, height = inputs.canvas
        fields = dict(generation_fields(model_path, params), width=width, height=height)
        arrays: dict[str, np.ndarray] = {}
        notes: tuple[str, ...] = ()
        if mode in ("paint", "inpaint") and inputs.labels is not None:
            values, notes = landscape_values(inputs.labels, inputs.palette, inputs.label_space)
            fields["label_map"] = arrays["label_map"] = values
        if mode == "inpaint":
            fields.update(
                init_image=inputs.picture,
                mask=inputs.mask,
                strength=params.inpaint_strength,
                mask_blur=params.mask_blur,
            )
            arrays.update(init_image=inputs.picture, mask=inputs.mask)
        elif inputs.picture is not None:  # img2img, or refining what is on screen from labels
            strength = params.paint_strength if mode == "paint" else params.strength
            fields.update(init_image=inputs.picture, strength=strength)
            arrays["init_image"] = inputs.picture
        request = GenerationRequest(**fields)
        return Built(request, arrays, notes, fit_to_canvas=mode == "paint")

    def request_from_recipe(self, recipe: dict, arrays: dict[str, Any]) -> Any:
        from studio.engine.recipe import request_from_recipe

        return request_from_recipe(recipe, **arrays)


FAMILY = StarterFamily()
