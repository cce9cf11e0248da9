"""What each Generate tab takes out of the document: picture, mask, labels, working size."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from studio.document.document import Document
from studio.document.layers import LABEL, MASK, Layer
from studio.engine.gan.labels import map_labels, official_model_labels, palette_label_set
from studio.errors import StudioError

ADE_CLASSES = 150
SIZE_STEP = 64  # working sizes are multiples of 64: every SD family's UNet accepts them


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


def ade20k_values(layer: Layer) -> tuple[np.ndarray, dict[str, int]]:
    """Label ids -> ADE20K id + 1 (what ControlNet seg expects); classes ADE lacks -> 0."""
    source = palette_label_set(layer.palette.to_dict(), layer.palette.name)
    mapped = map_labels(layer.pixels, source, official_model_labels("ade20k"))
    channels = mapped.channels
    values = np.where((channels >= 0) & (channels < ADE_CLASSES), channels + 1, 0)
    return values.astype(np.uint16), mapped.unknown


def working_size(width: int, height: int, area: int) -> tuple[int, int]:
    """The canvas aspect at about `area` pixels, in multiples of 64 (at least 64 a side)."""
    scale = (area / max(1, width * height)) ** 0.5
    w = max(SIZE_STEP, int(round(width * scale / SIZE_STEP)) * SIZE_STEP)
    h = max(SIZE_STEP, int(round(height * scale / SIZE_STEP)) * SIZE_STEP)
    return w, h


def _unknown_note(unknown: dict[str, int]) -> tuple[str, ...]:
    if not unknown:
        return ()
    names = ", ".join(sorted(unknown))
    return (f"ControlNet seg has no class for {names}; painted there as unlabeled",)


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


def mode_inputs(settings: Any, document: Document) -> tuple[dict[str, Any], Sources]:
    """Request fields (and their sources) for the settings' mode; StudioError if not ready."""
    from studio.engine.starter.engine import is_starter_folder

    if is_starter_folder(getattr(settings, "model_path", None)):
        from studio.session.starter_modes import starter_inputs

        return starter_inputs(settings, document)
    mode = settings.mode
    picture = np.ascontiguousarray(document.image_composite()[:, :, :3])
    if mode == "inpaint":
        mask, source_layer = inpaint_mask(document)
        picture = opaque_picture(document.image_composite())
        fields: dict[str, Any] = dict(
            init_image=picture,
            mask=mask,
            strength=settings.inpaint_strength,
            mask_blur=settings.mask_blur,
            inpaint_padding=settings.inpaint_padding if settings.only_masked else None,
            masked_content=settings.masked_content,
            color_match=settings.color_match,
        )
        if not settings.only_masked:  # the whole picture at the model's size, canvas aspect
            area = settings.width * settings.height
            fields["width"], fields["height"] = working_size(document.width, document.height, area)
        arrays = {"init_image": picture, "mask": mask}
        notes: tuple[str, ...] = ()
        if settings.inpaint_from_labels:
            values, unknown = ade20k_values(label_layer(document))
            fields.update(_control_fields(settings), label_map=values)
            arrays["label_map"] = values
            notes = _unknown_note(unknown)
        layer_id = source_layer.id if source_layer is not None else None
        return fields, Sources(arrays, notes, mask_layer=layer_id)
    if mode == "paint":
        values, unknown = ade20k_values(label_layer(document))
        w, h = working_size(document.width, document.height, settings.width * settings.height)
        fields = dict(label_map=values, width=w, height=h, **_control_fields(settings))
        arrays = {"label_map": values}
        if settings.paint_from_canvas:  # the refine pass over what is on screen (SPADE draft)
            fields.update(init_image=picture, strength=settings.paint_strength)
            arrays["init_image"] = picture
        return fields, Sources(arrays, _unknown_note(unknown), fit_to_canvas=True)
    if settings.img2img:
        return dict(init_image=picture, strength=settings.strength), Sources(
            {"init_image": picture}
        )
    return {}, Sources()


def _control_fields(settings: Any) -> dict[str, Any]:
    if not settings.controlnet_path:
        raise StudioError(
            "Generating from labels needs a segmentation ControlNet for the chosen model: put "
            "one (e.g. control_v11p_sd15_seg) in the models folder and choose it in the Paint tab."
        )
    return dict(controlnet_path=settings.controlnet_path, control_scale=settings.control_scale)
