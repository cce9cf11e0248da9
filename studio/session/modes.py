"""What each Generate tab takes out of the document: the picture, mask and labels a model family
asks for, handed to that family to build its request."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.document.document import Document
from studio.document.layers import LABEL, MASK, Layer
from studio.engine.families import family_of_model
from studio.engine.inputs import Built, GenerateParams, Inputs
from studio.engine.models.registry import ModelInfo
from studio.errors import StudioError

MODE_TITLES = {"prompt": "Prompt", "paint": "Paint", "inpaint": "Inpaint", "translate": "Translate"}


@dataclass(frozen=True)
class Sources:
    """The document arrays one request was built from, and notes for the artist."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    fit_to_canvas: bool = False  # resize the result to the canvas (it must line up with it)
    mask_layer: int | None = None  # hidden when the result lands, so the result is seen clean


def _visible_top(document: Document, kind: str) -> Layer | None:
    active = document.active_layer
    if active is not None and active.kind == kind and active.visible:
        return active
    return next((la for la in reversed(document.layers) if la.kind == kind and la.visible), None)


def mask_layer(document: Document) -> Layer | None:
    """The active mask layer, else the topmost painted one (hidden ones too: a finished
    inpaint hides its mask so the result is seen, and inpainting again reuses it)."""
    active = document.active_layer
    if active is not None and active.kind == MASK:
        return active
    masks = [la for la in reversed(document.layers) if la.kind == MASK]
    return next((la for la in masks if la.pixels.any()), masks[0] if masks else None)


def inpaint_mask(document: Document) -> tuple[np.ndarray, Layer | None]:
    """HxW uint8 (255 = repaint) and the mask layer it came from (None: the selection)."""
    layer = mask_layer(document)
    if layer is not None and layer.pixels.any():
        return np.ascontiguousarray(layer.pixels), layer
    if document.selection is not None and document.selection.any():
        return np.where(document.selection, 255, 0).astype(np.uint8), None
    if layer is not None:
        raise StudioError(
            f"The mask layer “{layer.name}” is empty: paint over the part of the picture that "
            "should change (white = repaint), then press Inpaint."
        )
    raise StudioError(
        "Inpainting needs a mask: add one with Layer → New mask layer and paint over the part "
        "that should change, or make a selection (it is used as the mask)."
    )


def label_layer(document: Document) -> Layer:
    """The active (else topmost visible) label layer, which must have something painted."""
    layer = _visible_top(document, LABEL)
    if layer is None:
        raise StudioError(
            "There is no label layer to generate from: add one with Layer → New label layer "
            "and paint sky, water, mountains… with classes from the Palette."
        )
    if not layer.pixels.any():
        raise StudioError(f"The label layer “{layer.name}” is empty: paint some classes first.")
    return layer


def opaque_picture(rgba: np.ndarray) -> np.ndarray:
    """HxWx3: transparent pixels (an extended canvas) take the nearest painted pixel's colour,
    a neutral start for the model instead of black."""
    empty = rgba[:, :, 3] == 0
    rgb = np.ascontiguousarray(rgba[:, :, :3])
    if not empty.any() or empty.all():
        return rgb
    from scipy import ndimage

    _, (iy, ix) = ndimage.distance_transform_edt(empty, return_indices=True)
    return np.ascontiguousarray(rgb[iy, ix])


def document_inputs(document: Document, needs: frozenset[str]) -> tuple[Inputs, int | None]:
    """The inputs a family asked for, copied out of the document; StudioError if one is
    missing. Also the id of the mask layer used (None: the selection, or no mask)."""
    picture = mask = labels = palette = None
    mask_layer_id = None
    if "mask" in needs:
        mask, source_layer = inpaint_mask(document)
        mask_layer_id = source_layer.id if source_layer is not None else None
    if "picture" in needs:
        rgba = document.image_composite()
        picture = opaque_picture(rgba) if "mask" in needs else np.ascontiguousarray(rgba[:, :, :3])
    if "labels" in needs:
        layer = label_layer(document)
        labels, palette = layer.pixels, layer.palette.to_dict()
    canvas = (document.width, document.height)
    inputs = Inputs(canvas, picture=picture, mask=mask, labels=labels, palette=palette)
    return inputs, mask_layer_id


def build_for_mode(
    model: str | ModelInfo, mode: str, params: GenerateParams, document: Document
) -> tuple[Built, Sources]:
    """The model family's request for `mode`, from the document (StudioError if not ready)."""
    path = getattr(model, "path", model)
    family = family_of_model(model)
    if family is None:
        raise StudioError(f"Studio does not know how to run {Path(str(path)).name}.", str(path))
    if mode not in family.modes:
        raise StudioError(
            f"{family.title} models do not do “{MODE_TITLES.get(mode, mode)}”: choose another "
            "model or another tab.",
            f"{family.title} models offer: " + ", ".join(family.modes),
        )
    inputs, mask_layer_id = document_inputs(document, family.needs(mode, params))
    built = family.build_request(mode, str(path), params, inputs)
    sources = Sources(dict(built.arrays), built.notes, built.fit_to_canvas, mask_layer_id)
    return built, sources
