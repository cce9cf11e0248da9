"""Project files: byte-identical round trips, atomic saves, hostile files refused, upgrades."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from studio.document.document import Document
from studio.document.files import (
    export_label_png,
    import_label_png,
    open_document,
    save_document,
)
from studio.document.palette import load_palette
from studio.io import project as project_io
from studio.io.project import ProjectFileError, load_project


def _doc() -> Document:
    rng = np.random.default_rng(1)
    doc = Document(24, 16)
    doc.layers[0].pixels[:] = rng.integers(0, 256, (16, 24, 4), np.uint8)
    labels = doc.add_label_layer("Labels", load_palette("COCO-Stuff-182"))
    labels.pixels[:] = rng.integers(0, 183, (16, 24), np.uint16)
    labels.pixels[0, 0] = 65535  # beyond 8 bits survives too
    mask = doc.add_mask_layer("Mask")
    mask.pixels[:] = rng.integers(0, 256, (16, 24), np.uint8)
    doc.set_opacity(mask.id, 0.25)
    doc.set_locked(labels.id, True)
    doc.generation_settings = {"prompt": "a lake", "seed": 5}
    return doc


def test_round_trip_is_byte_identical(qapp, tmp_path):
    doc = _doc()
    save_document(doc, tmp_path / "a.studio")
    assert doc.undo_stack.isClean()
    other = Document(4, 4)
    open_document(other, tmp_path / "a.studio")
    assert (other.width, other.height) == (24, 16)
    assert [x.kind for x in other.layers] == ["raster", "label", "mask"]
    for a, b in zip(doc.layers, other.layers, strict=True):
        assert a.pixels.dtype == b.pixels.dtype and a.pixels.tobytes() == b.pixels.tobytes()
        assert (a.name, a.opacity, a.locked, a.visible) == (b.name, b.opacity, b.locked, b.visible)
    assert other.layers[1].palette == doc.layers[1].palette
    assert other.generation_settings == {"prompt": "a lake", "seed": 5}
    assert other.undo_stack.count() == 0


def test_generation_sources_round_trip_exactly(qapp, tmp_path):
    """Re-run exactly needs the picture, mask and labels a layer was made from, after reopening."""
    doc = _doc()
    rng = np.random.default_rng(2)
    sources = {
        "init_image": rng.integers(0, 256, (16, 24, 3), np.uint8),
        "mask": rng.integers(0, 256, (16, 24), np.uint8),
        "label_map": rng.integers(0, 151, (16, 24), np.uint16),
    }
    doc.layers[0].sources = dict(sources)
    save_document(doc, tmp_path / "s.studio")
    other = Document(4, 4)
    open_document(other, tmp_path / "s.studio")
    kept = other.layers[0].sources
    assert sorted(kept) == sorted(sources)
    for name, array in sources.items():
        assert kept[name].dtype == array.dtype and np.array_equal(kept[name], array)
    assert other.layers[1].sources == {}


def test_failed_save_leaves_the_old_file(qapp, tmp_path, monkeypatch):
    doc = _doc()
    path = tmp_path / "a.studio"
    save_document(doc, path)
    before = path.read_bytes()

    def boom(kind, pixels):
        raise OSError("disk full")

    monkeypatch.setattr(project_io, "_encode", boom)
    with pytest.raises(OSError):
        save_document(doc, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.studio"]


def _write_zip(path, members: dict[str, bytes], manifest: dict | None = None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        if manifest is not None:
            z.writestr("manifest.json", json.dumps(manifest))
        for name, data in members.items():
            z.writestr(name, data)


def test_path_traversal_is_refused(tmp_path):
    manifest = {"format": "studio-project", "version": 2, "width": 4, "height": 4, "layers": []}
    _write_zip(tmp_path / "t.studio", {"../../evil.png": b"x"}, manifest)
    with pytest.raises(ProjectFileError, match="outside the project"):
        load_project(tmp_path / "t.studio")
    manifest["layers"] = [{"kind": "raster", "file": "/etc/passwd", "name": "x"}]
    _write_zip(tmp_path / "u.studio", {}, manifest)
    with pytest.raises(ProjectFileError, match="unsafe"):
        load_project(tmp_path / "u.studio")


def test_zip_bomb_is_refused(tmp_path):
    manifest = {"format": "studio-project", "version": 2, "width": 4, "height": 4, "layers": []}
    _write_zip(tmp_path / "b.studio", {"layers/0000.png": b"\0" * 50_000_000}, manifest)
    assert (tmp_path / "b.studio").stat().st_size < 200_000
    with pytest.raises(ProjectFileError, match="zip bomb"):
        load_project(tmp_path / "b.studio")


def test_future_version_truncated_and_foreign_files_are_refused(qapp, tmp_path):
    manifest = {"format": "studio-project", "version": 99, "width": 4, "height": 4, "layers": []}
    _write_zip(tmp_path / "f.studio", {}, manifest)
    with pytest.raises(ProjectFileError, match="newer Studio"):
        load_project(tmp_path / "f.studio")
    save_document(_doc(), tmp_path / "ok.studio")
    data = (tmp_path / "ok.studio").read_bytes()
    (tmp_path / "cut.studio").write_bytes(data[: len(data) // 2])
    with pytest.raises(ProjectFileError):
        load_project(tmp_path / "cut.studio")
    (tmp_path / "x.studio").write_bytes(b"PK\x03\x04 nonsense")
    with pytest.raises(ProjectFileError):
        load_project(tmp_path / "x.studio")
    _write_zip(tmp_path / "n.studio", {"hello.txt": b"hi"}, {"format": "other"})
    with pytest.raises(ProjectFileError, match="not a Studio project"):
        load_project(tmp_path / "n.studio")


def test_version_1_files_are_upgraded(qapp, tmp_path):
    doc = Document(8, 8)
    save_document(doc, tmp_path / "new.studio")
    with zipfile.ZipFile(tmp_path / "new.studio") as z:
        manifest = json.loads(z.read("manifest.json"))
        layer_png = z.read("layers/0000.png")
    for layer in manifest["layers"]:
        del layer["kind"], layer["locked"]
    manifest.update(version=1, generation={"prompt": "old"})
    del manifest["settings"], manifest["palettes"]
    _write_zip(tmp_path / "old.studio", {"layers/0000.png": layer_png}, manifest)
    data = load_project(tmp_path / "old.studio")
    assert data.layers[0]["kind"] == "raster" and data.settings == {"prompt": "old"}
    assert data.layers[0]["pixels"].tobytes() == doc.layers[0].pixels.tobytes()


def test_label_png_export_import_round_trips_exact_ids(qapp, tmp_path):
    from PIL import Image

    pal = load_palette("ADE20K-150")
    doc = Document(12, 10)
    labels = doc.add_label_layer("Labels", pal)
    labels.pixels[:, :6] = 7  # road
    labels.pixels[:, 6:] = 49  # skyscraper: the same colour as road in ADE20K
    labels.pixels[0, 0] = 0
    export_label_png(labels, tmp_path / "l.png")
    with Image.open(tmp_path / "l.png") as image:
        assert image.mode == "P"
        assert tuple(image.convert("RGB").getpixel((1, 1))) == (140, 140, 140)
        embedded = json.loads(image.text["studio-palette"])
        assert embedded["name"] == "ADE20K-150" and embedded["entries"][6]["name"] == "road"
    layer, mapping = import_label_png(doc, tmp_path / "l.png", pal)
    assert mapping is None  # exact ids were read, no colour guessing
    assert layer.pixels.tobytes() == labels.pixels.tobytes()


def test_colour_coded_import_reports_unmatched_colours(qapp, tmp_path):
    from PIL import Image

    pal = load_palette("Landscape")
    sky, sea = pal.search("sky")[0], pal.search("sea")[0]
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[:5] = sky.rgb
    rgb[5:] = sea.rgb
    rgb[7:9, 2:4] = (90, 12, 160)  # nobody's colour
    Image.fromarray(rgb, "RGB").save(tmp_path / "seg.png")
    doc = Document(10, 10)
    layer, mapping = import_label_png(doc, tmp_path / "seg.png", pal)
    assert layer.pixels[0, 0] == sky.value and layer.pixels[9, 9] == sea.value
    assert layer.pixels[7, 2] == 0
    assert mapping.unmatched_pixels == 4
    assert mapping.unmatched_colors == [((90, 12, 160), 4, (2, 7))]


def test_inconsistent_layers_and_png_bombs_are_refused(qapp, tmp_path, monkeypatch):
    doc = _doc()
    save_document(doc, tmp_path / "a.studio")
    with zipfile.ZipFile(tmp_path / "a.studio") as z:
        manifest = json.loads(z.read("manifest.json"))
        members = {n: z.read(n) for n in z.namelist() if n != "manifest.json"}
    manifest["palettes"] = {}  # the label layer's palette is missing
    _write_zip(tmp_path / "np.studio", members, manifest)
    with pytest.raises(ProjectFileError, match="damaged"):
        open_document(Document(4, 4), tmp_path / "np.studio")
    monkeypatch.setattr(project_io, "MAX_TOTAL_PIXELS", 24 * 16 * 2)  # three layers > two
    with pytest.raises(ProjectFileError, match="pixels of layers"):
        load_project(tmp_path / "a.studio")
