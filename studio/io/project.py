"""The `.studio` project file: a versioned zip of manifest.json plus one lossless PNG per layer.

Saving is atomic (io/atomic.py). Opening refuses path traversal, zip bombs, unknown future
versions and damaged members with a ProjectFileError; older versions are upgraded in memory.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from PIL import Image

from studio.errors import StudioError
from studio.io.atomic import write_atomic
from studio.io.images import MAX_PIXELS, check_size
from studio.io.project_schema import ManifestError, check_manifest
from studio.io.safe_json import parse_json

FORMAT = "studio-project"
VERSION = 2
MAX_MEMBERS = 1000
MAX_TOTAL_BYTES = 4 * 1024**3  # uncompressed
MAX_RATIO = 100  # uncompressed / compressed per member; layers are stored PNG (ratio ~1)
MAX_MANIFEST_BYTES = 16 * 1024**2
MAX_TOTAL_PIXELS = 400_000_000  # all layers together (~1.6 GB as RGBA): refuse PNG bombs


class ProjectFileError(StudioError):
    """A project file cannot be opened (damaged, hostile, or from a newer Studio)."""


@dataclass
class ProjectData:
    """Plain data of one document: the manifest (layers described in order) and layer pixels."""

    width: int
    height: int
    layers: list[dict[str, Any]]  # each: name, kind, visible, opacity, locked, ..., "pixels"
    settings: dict[str, Any] = field(default_factory=dict)
    palettes: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> palette dict
    extra: dict[str, Any] = field(default_factory=dict)


def _encode(kind: str, pixels: np.ndarray) -> bytes:
    if kind == "raster":
        image = Image.fromarray(pixels, "RGBA")
    elif kind == "mask":
        image = Image.fromarray(pixels, "L")
    else:  # label ids: 16-bit greyscale keeps every uint16 value exactly
        image = Image.fromarray(np.ascontiguousarray(pixels, np.uint16))  # mode I;16
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _source_mode(array: np.ndarray) -> str:
    """PNG mode that keeps a generation source exactly: RGB image, L mask, I;16 labels."""
    if array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3:
        return "RGB"
    if array.dtype == np.uint8 and array.ndim == 2:
        return "L"
    if array.dtype == np.uint16 and array.ndim == 2:
        return "I;16"
    raise ValueError(f"cannot store a {array.dtype} array of shape {array.shape}")


def _encode_source(array: np.ndarray) -> tuple[str, bytes]:
    mode = _source_mode(array)
    image = Image.fromarray(np.ascontiguousarray(array))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return mode, buffer.getvalue()


def _decode_source(data: bytes, mode: str, width: int, height: int, name: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG" or image.size != (width, height):
                raise ProjectFileError(f"Source file {name} does not match the project.")
            image.load()
            if mode == "I;16":
                return np.array(image).astype(np.uint16)
            if mode not in ("RGB", "L"):
                raise ProjectFileError(f"Source file {name} has an unknown mode {mode!r}.")
            return np.array(image.convert(mode), np.uint8)
    except ProjectFileError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise ProjectFileError(f"Source file {name} is damaged.", str(exc)) from exc


def _decode(kind: str, data: bytes, width: int, height: int, name: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG" or image.size != (width, height):
                raise ProjectFileError(f"Layer file {name} does not match the project.")
            image.load()
            if kind == "raster":
                return np.array(image.convert("RGBA"), np.uint8)
            if kind == "mask":
                return np.array(image.convert("L"), np.uint8)
            return np.array(image).astype(np.uint16)
    except ProjectFileError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise ProjectFileError(f"Layer file {name} is damaged.", str(exc)) from exc


def save_project(
    path: Path, project: ProjectData, progress: Callable[[float], None] | None = None
) -> None:
    """Write the project atomically: a crash mid-save leaves the previous file intact.

    `progress` gets the fraction done (0..1) after each layer is encoded; the pixels are only
    read, so a background thread may save frozen arrays the GUI no longer writes to.
    """
    layers_meta, blobs = [], {}
    count = max(1, len(project.layers))
    for i, layer in enumerate(project.layers):
        meta = {k: v for k, v in layer.items() if k not in ("pixels", "sources")}
        member = f"layers/{i:04d}.png"
        meta["file"] = member
        blobs[member] = _encode(layer["kind"], layer["pixels"])
        sources = []
        for name, array in (layer.get("sources") or {}).items():
            source = f"sources/{i:04d}-{name}.png"
            mode, blobs[source] = _encode_source(array)
            height, width = array.shape[:2]
            sources.append({"name": name, "file": source, "mode": mode, "w": width, "h": height})
        if sources:  # what "Re-run exactly" needs: the picture, mask, labels it was made from
            meta["sources"] = sources
        layers_meta.append(meta)
        if progress is not None:
            progress(0.95 * (i + 1) / count)  # encoding is most of the work; the zip the rest
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "width": project.width,
        "height": project.height,
        "layers": layers_meta,
        "settings": project.settings,
        "palettes": project.palettes,
        **project.extra,
    }

    def write(handle) -> None:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", json.dumps(manifest, indent=1, default=str))
            for member, data in blobs.items():
                archive.writestr(member, data, compress_type=zipfile.ZIP_STORED)

    write_atomic(Path(path), write)
    if progress is not None:
        progress(1.0)


def _safe_member(name: str) -> bool:
    pure = PurePosixPath(name)
    return (
        "\\" not in name
        and not pure.is_absolute()
        and ".." not in pure.parts
        and ":" not in name
        and len(pure.parts) >= 1
    )


def _check_archive(archive: zipfile.ZipFile, label: str) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ProjectFileError(f"{label} has too many files inside ({len(infos)}).")
    total = 0
    for info in infos:
        if not _safe_member(info.filename):
            raise ProjectFileError(
                f"{label} contains a file that points outside the project; it was not opened.",
                f"unsafe member name {info.filename!r}",
            )
        total += info.file_size
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise ProjectFileError(
                f"{label} looks like a zip bomb; it was not opened.",
                f"{info.filename}: {info.file_size} bytes from {info.compress_size}",
            )
    if total > MAX_TOTAL_BYTES:
        raise ProjectFileError(f"{label} would unpack to {total} bytes; it was not opened.")


def _read(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """Read a member without trusting its declared size."""
    try:
        with archive.open(name) as handle:
            data = handle.read(limit + 1)
    except KeyError as exc:
        raise ProjectFileError(f"The project is missing {name}.") from exc
    if len(data) > limit:
        raise ProjectFileError(f"{name} in the project is larger than it claims; not opened.")
    return data


def upgrade(manifest: dict[str, Any]) -> dict[str, Any]:
    """Bring an older manifest up to VERSION (version 1: raster layers only, 'generation' key)."""
    version = manifest.get("version")
    if not isinstance(version, int) or version < 1:
        raise ProjectFileError("The project file has no valid version number.", repr(version))
    if version > VERSION:
        raise ProjectFileError(
            f"This project was saved by a newer Studio (file version {version}); this Studio "
            f"reads versions up to {VERSION}. Update Studio to open it."
        )
    if version == 1:
        manifest = dict(manifest)
        manifest["layers"] = [{"kind": "raster", "locked": False, **x} for x in manifest["layers"]]
        manifest["settings"] = manifest.pop("generation", {})
        manifest.setdefault("palettes", {})
        manifest["version"] = 2
    return manifest


def _sources_from(archive: zipfile.ZipFile, entries: list, label: str) -> dict[str, np.ndarray]:
    out = {}
    for entry in entries:
        member, name = str(entry["file"]), str(entry["name"])
        if not _safe_member(member):
            raise ProjectFileError(f"{label} refers to an unsafe file name {member!r}.")
        w, h = int(entry["w"]), int(entry["h"])
        check_size(w, h, label)
        data = _read(archive, member, MAX_PIXELS * 8)
        out[name] = _decode_source(data, str(entry["mode"]), w, h, member)
    return out


def load_project(path: Path) -> ProjectData:
    path = Path(path)
    label = path.name
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise ProjectFileError(f"{label} does not exist.", str(path)) from exc
    except (zipfile.BadZipFile, OSError) as exc:
        raise ProjectFileError(f"{label} is not a Studio project or is damaged.", str(exc)) from exc
    with archive:
        _check_archive(archive, label)
        try:  # size, nesting depth and non-finite numbers are refused while parsing
            data = _read(archive, "manifest.json", MAX_MANIFEST_BYTES)
            manifest = parse_json(data, max_bytes=MAX_MANIFEST_BYTES)
        except (ValueError, zipfile.BadZipFile, OSError) as exc:
            raise ProjectFileError(f"{label} has a damaged manifest.", str(exc)) from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ProjectFileError(f"{label} is not a Studio project.")
        try:
            manifest = check_manifest(upgrade(manifest))
        except ManifestError as exc:
            raise ProjectFileError(f"{label} is damaged: {exc}.", repr(exc)) from exc
        except (TypeError, KeyError, AttributeError) as exc:  # an old version's odd layout
            raise ProjectFileError(f"{label} is damaged.", repr(exc)) from exc
        try:
            return _layers_from(archive, manifest, label)
        except (KeyError, TypeError, ValueError, zipfile.BadZipFile, OSError) as exc:
            raise ProjectFileError(f"{label} is damaged.", repr(exc)) from exc


def _layers_from(archive: zipfile.ZipFile, manifest: dict[str, Any], label: str) -> ProjectData:
    width, height = int(manifest["width"]), int(manifest["height"])
    check_size(width, height, label)
    layers = []
    total = sum(
        int(m.get("width", width)) * int(m.get("height", height)) for m in manifest["layers"]
    )
    total += sum(
        int(x["w"]) * int(x["h"]) for m in manifest["layers"] for x in m.get("sources", [])
    )
    if total > MAX_TOTAL_PIXELS:
        raise ProjectFileError(
            f"{label} would need {total} pixels of layers; it was not opened.",
            f"limit {MAX_TOTAL_PIXELS}",
        )
    for meta in manifest["layers"]:
        kind = meta["kind"]
        if kind not in ("raster", "label", "mask"):
            raise ProjectFileError(f"{label} has a layer of unknown kind {kind!r}.")
        member = str(meta["file"])
        if not _safe_member(member):
            raise ProjectFileError(f"{label} refers to an unsafe file name {member!r}.")
        w, h = int(meta.get("width", width)), int(meta.get("height", height))
        check_size(w, h, label)
        data = _read(archive, member, MAX_PIXELS * 8)
        layer = {k: v for k, v in meta.items() if k not in ("file", "sources")}
        layer["pixels"] = _decode(kind, data, w, h, member)
        layer["sources"] = _sources_from(archive, meta.get("sources") or [], label)
        layers.append(layer)
    known = {"format", "version", "width", "height", "layers", "settings", "palettes"}
    return ProjectData(
        width,
        height,
        layers,
        dict(manifest.get("settings") or {}),
        dict(manifest.get("palettes") or {}),
        {k: v for k, v in manifest.items() if k not in known},
    )
