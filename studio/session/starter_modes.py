"""What each Generate tab takes out of the document when the starter diffusion is chosen."""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.document.document import Document
from studio.document.layers import Layer
from studio.engine.starter import vocab
from studio.session.modes import Sources, inpaint_mask, label_layer, opaque_picture


def landscape_values(layer: Layer) -> tuple[np.ndarray, tuple[str, ...]]:
    """HxW uint16 Landscape values 0..24 of a label layer (other palettes mapped by name)."""
    pixels = np.asarray(layer.pixels)
    if layer.palette.name.lower() == "landscape":
        return np.ascontiguousarray(pixels, dtype=np.uint16), ()
    lut = np.zeros(int(pixels.max(initial=0)) + 1, np.uint16)
    unknown = []
    for entry in layer.palette.entries:
        name = entry.name.lower()
        if entry.value < len(lut) and name in vocab.MATERIALS:
            lut[entry.value] = vocab.material_value(name)
        elif entry.value < len(lut) and (pixels == entry.value).any():
            unknown.append(entry.name)
    notes = ()
    if unknown:
        notes = (f"The starter has no class for {', '.join(sorted(unknown))}; left unlabeled",)
    return lut[pixels], notes


def starter_inputs(settings: Any, document: Document) -> tuple[dict[str, Any], Sources]:
    """Request fields for the starter: always the canvas size (it runs at 128² and resizes)."""
    mode = settings.mode
    size = dict(width=document.width, height=document.height)
    picture = np.ascontiguousarray(document.image_composite()[:, :, :3])
    if mode == "inpaint":
        mask, source_layer = inpaint_mask(document)
        picture = opaque_picture(document.image_composite())
        fields: dict[str, Any] = dict(
            size, init_image=picture, mask=mask, strength=settings.inpaint_strength,
            mask_blur=settings.mask_blur,
        )  # fmt: skip
        arrays = {"init_image": picture, "mask": mask}
        notes: tuple[str, ...] = ()
        if settings.inpaint_from_labels:
            values, notes = landscape_values(label_layer(document))
            fields["label_map"] = arrays["label_map"] = values
        layer_id = source_layer.id if source_layer is not None else None
        return fields, Sources(arrays, notes, mask_layer=layer_id)
    if mode == "paint":
        values, notes = landscape_values(label_layer(document))
        fields = dict(size, label_map=values)
        arrays = {"label_map": values}
        if settings.paint_from_canvas:  # refine what is on screen, following the labels
            fields.update(init_image=picture, strength=settings.paint_strength)
            arrays["init_image"] = picture
        return fields, Sources(arrays, notes, fit_to_canvas=True)
    if settings.img2img:
        return dict(size, init_image=picture, strength=settings.strength), Sources(
            {"init_image": picture}
        )
    return size, Sources()
