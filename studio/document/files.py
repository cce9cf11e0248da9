"""Document <-> files: project save/open, image import as layers, label map import/export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from studio.document.document import Document
from studio.document.layers import LABEL, RASTER, Layer
from studio.document.palette import ColorMapping, Palette, map_colors
from studio.io.images import load_image
from studio.io.labels import read_label_png, save_indexed_png
from studio.io.project import ProjectData, ProjectFileError, load_project, save_project

LAYER_FIELDS = ("name", "kind", "visible", "opacity", "locked", "draft", "metadata")


def project_from_document(doc: Document) -> ProjectData:
    palettes: dict[str, dict] = {}
    layers = []
    for layer in doc.layers:
        entry = {k: getattr(layer, k) for k in LAYER_FIELDS}
        entry.update(width=layer.width, height=layer.height, pixels=layer.pixels)
        if layer.sources:
            entry["sources"] = dict(layer.sources)
        if layer.palette is not None:
            palettes[layer.palette.name] = layer.palette.to_dict()
            entry["palette"] = layer.palette.name
        layers.append(entry)
    return ProjectData(doc.width, doc.height, layers, dict(doc.generation_settings), palettes)


def save_document(doc: Document, path: Path) -> None:
    """Save atomically and mark the undo stack clean."""
    save_project(Path(path), project_from_document(doc))
    doc.path = str(path)
    doc.undo_stack.setClean()


def layers_from_project(data: ProjectData) -> list[Layer]:
    """Layers from project data; inconsistent data raises ProjectFileError."""
    try:
        return _layers(data)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ProjectFileError("The project's layer list is damaged.", repr(exc)) from exc


def _layers(data: ProjectData) -> list[Layer]:
    palettes = {name: Palette.from_dict(p) for name, p in data.palettes.items()}
    layers = []
    for entry in data.layers:
        palette = palettes.get(entry.get("palette", "")) if entry["kind"] == LABEL else None
        layers.append(
            Layer(
                str(entry.get("name", "Layer")),
                entry["pixels"],
                visible=bool(entry.get("visible", True)),
                opacity=float(entry.get("opacity", 1.0)),
                draft=bool(entry.get("draft", False)),
                metadata=dict(entry.get("metadata") or {}),
                kind=entry["kind"],
                palette=palette,
                locked=bool(entry.get("locked", False)),
                sources=dict(entry.get("sources") or {}),
            )
        )
    return layers


def open_document(doc: Document, path: Path) -> None:
    """Replace the document's contents with a project file (raises ProjectFileError)."""
    data = load_project(Path(path))
    doc.reset(data.width, data.height, layers_from_project(data))
    doc.generation_settings = dict(data.settings)
    doc.path = str(path)


def new_from_image(doc: Document, path: Path) -> None:
    """Replace the document with one raster layer of the image, canvas sized to it."""
    pixels = load_image(Path(path))
    h, w = pixels.shape[:2]
    doc.reset(w, h, [Layer(Path(path).stem, pixels)])
    doc.path = None


def import_image_layer(doc: Document, path: Path) -> Layer:
    """Add an image as a new raster layer (cropped/padded to the canvas, top-left anchored)."""
    pixels = load_image(Path(path))
    canvas = np.zeros((doc.height, doc.width, 4), np.uint8)
    h, w = min(doc.height, pixels.shape[0]), min(doc.width, pixels.shape[1])
    canvas[:h, :w] = pixels[:h, :w]
    layer = Layer(Path(path).stem, canvas, kind=RASTER)
    doc.add_layer(layer, f"Import {Path(path).name}")
    return layer


def export_label_png(layer: Layer, path: Path) -> None:
    """Indexed PNG: pixel values are the exact class values, PLTE holds the palette colours."""
    names = json.dumps(layer.palette.to_dict())
    save_indexed_png(Path(path), layer.pixels, layer.palette.colors_indexed(), names)


def import_label_png(
    doc: Document, path: Path, palette: Palette, tolerance: float = 12.0
) -> tuple[Layer, ColorMapping | None]:
    """Add a label layer from a PNG: exact ids when it is an indexed PNG in this palette's
    colours, else each colour mapped to the nearest entry; unmatched colours are reported."""
    ids, rgb = read_label_png(Path(path))
    mapping = None
    if ids is None or not _indices_match(ids, rgb, palette):
        mapping = map_colors(rgb, palette, tolerance)
        ids = mapping.ids
    canvas = np.zeros((doc.height, doc.width), np.uint16)
    h, w = min(doc.height, ids.shape[0]), min(doc.width, ids.shape[1])
    canvas[:h, :w] = ids[:h, :w]
    layer = Layer(Path(path).stem, canvas, opacity=0.6, kind=LABEL, palette=palette)
    doc.add_layer(layer, f"Import labels {Path(path).name}")
    return layer, mapping


def _indices_match(ids: np.ndarray, rgb: np.ndarray, palette: Palette) -> bool:
    """True when every index used in the file has this palette's colour for that value."""
    lut = palette.lut()
    used, first = np.unique(ids, return_index=True)
    flat = rgb.reshape(-1, 3)
    for value, where in zip(used, first, strict=True):
        if value == 0:
            continue
        if lut[value, 3] == 0 or tuple(lut[value, :3]) != tuple(flat[where]):
            return False
    return True
