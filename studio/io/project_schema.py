"""The schema of a `.studio` manifest, checked before any layer is decoded: structural fields
(sizes, kinds, member names, sources) must have their types or the file is refused;
cosmetic ones (name, visibility, opacity, lock, metadata) are coerced to a safe value."""

from __future__ import annotations

import math
from typing import Any

MAX_LAYERS = 1000  # a document with more is not one Studio wrote
MAX_SOURCES = 8  # per layer: picture, mask, labels, control… (3 today)
MAX_NAME = 1000
LAYER_KINDS = ("raster", "label", "mask")
SOURCE_MODES = ("RGB", "L", "I;16")


class ManifestError(ValueError):
    """The manifest does not have the shape of a Studio project (plain words)."""


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ManifestError(f"its {what} is not a whole number ({str(value)[:40]})")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_NAME:
        raise ManifestError(f"its {what} is not a short text")
    return value


def _flag(value: Any, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _opacity(value: Any) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return min(1.0, max(0.0, float(value))) if ok else 1.0


def _source(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ManifestError("a layer source is not an object")
    mode = _text(entry.get("mode"), "source mode")
    if mode not in SOURCE_MODES:
        raise ManifestError(f"a layer source has an unknown mode {mode[:20]!r}")
    return {
        "name": _text(entry.get("name"), "source name"),
        "file": _text(entry.get("file"), "source file"),
        "mode": mode,
        "w": _whole(entry.get("w"), "source width"),
        "h": _whole(entry.get("h"), "source height"),
    }


def _layer(meta: Any, width: int, height: int) -> dict[str, Any]:
    if not isinstance(meta, dict):
        raise ManifestError("a layer entry is not an object")
    kind = meta.get("kind")
    if kind not in LAYER_KINDS:
        raise ManifestError(f"a layer has an unknown kind {str(kind)[:20]!r}")
    sources = meta.get("sources") or []
    if not isinstance(sources, list) or len(sources) > MAX_SOURCES:
        raise ManifestError("a layer's sources are not a short list")
    name = meta.get("name", "Layer")
    metadata = meta.get("metadata")
    layer = dict(meta)  # unknown keys travel on untouched (a newer minor version's extras)
    layer.update(
        kind=kind,
        file=_text(meta.get("file"), "layer file"),
        width=_whole(meta.get("width", width), "layer width"),
        height=_whole(meta.get("height", height), "layer height"),
        name=str(name)[:MAX_NAME] if isinstance(name, (str, int, float)) else "Layer",
        visible=_flag(meta.get("visible"), True),
        locked=_flag(meta.get("locked"), False),
        draft=_flag(meta.get("draft"), False),
        opacity=_opacity(meta.get("opacity", 1.0)),
        metadata=metadata if isinstance(metadata, dict) else {},
        sources=[_source(s) for s in sources],
    )
    if "palette" in meta and not isinstance(meta["palette"], str):
        del layer["palette"]
    return layer


def check_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """A checked copy of an (upgraded) manifest; ManifestError says what is wrong."""
    width = _whole(manifest.get("width"), "width")
    height = _whole(manifest.get("height"), "height")
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise ManifestError("its layer list is missing")
    if len(layers) > MAX_LAYERS:
        raise ManifestError(f"it lists {len(layers)} layers; Studio opens up to {MAX_LAYERS}")
    out = dict(manifest)
    out["layers"] = [_layer(meta, width, height) for meta in layers]
    settings, palettes = manifest.get("settings"), manifest.get("palettes")
    out["settings"] = settings if isinstance(settings, dict) else {}
    palettes = palettes if isinstance(palettes, dict) else {}
    out["palettes"] = {k: v for k, v in palettes.items() if isinstance(v, dict)}
    return out
