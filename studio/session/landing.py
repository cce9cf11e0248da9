"""A generation's result lands in the document: one layer per image, one undo step."""

from __future__ import annotations

import numpy as np

from studio.document.document import Document
from studio.document.layers import Layer, rgba_from_rgb
from studio.engine.requests import GenerationResult
from studio.session.modes import Sources


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """HxWx3 uint8 resized to the canvas, so a result made at the model's size lines up."""
    from PIL import Image

    if image.shape[:2] == (height, width):
        return image
    resized = Image.fromarray(np.ascontiguousarray(image)).resize(
        (width, height), Image.Resampling.LANCZOS
    )
    return np.asarray(resized)


def _batch_member_recipe(recipe: dict, index: int) -> dict:
    """Image `index` of a batch made one run at a time (batch size 1): its own seed and a
    one-image request, so Re-run exactly makes just this image, bit for bit. Images of one
    batched run (size > 1) keep the whole batch's recipe: re-made alone they could differ."""
    out = dict(recipe, batch_index=index)
    seeds = recipe.get("seeds") or []
    request = dict(recipe.get("request") or {})
    if request.get("batch_size", 1) == 1 and index < len(seeds):
        out.update(seed=seeds[index], seeds=[seeds[index]])
        if request:
            out["request"] = dict(request, seed=seeds[index], batch_count=1)
    return out


def land_result(
    document: Document, label: str, result: GenerationResult, sources: Sources, draft: bool
) -> list[Layer]:
    """Add the result's images (a draft: its last preview) as layers in one undo macro."""
    if draft:
        total = getattr(result.request, "num_inference_steps", 1)
        label = f"Draft (step {result.steps_done}/{total}) {label}"
    recipe = dict(result.recipe)
    if sources.fit_to_canvas:
        recipe["fit_to_canvas"] = True
    images = [result.image] if draft else list(result.images)
    layers = []
    for i, image in enumerate(images):
        if sources.fit_to_canvas:
            image = _fit(image, document.width, document.height)
        name = label if len(images) == 1 else f"{label} ({i + 1}/{len(images)})"
        layer = Layer(name, rgba_from_rgb(image), draft=draft, metadata=dict(recipe))
        layer.sources = dict(sources.arrays)
        if len(images) > 1:  # a batch: every image a layer, only the first one shown
            layer.metadata = _batch_member_recipe(recipe, i)
            layer.visible = i == 0
        layers.append(layer)
    stack = document.undo_stack
    stack.beginMacro(f"Generate {label}")
    for layer in reversed(layers):
        document.add_result_layer(layer, f"Generate {layer.name}")
    if sources.mask_layer is not None and not draft:
        document.set_visible(sources.mask_layer, False)  # see the result, not the tint
    stack.endMacro()
    return layers
