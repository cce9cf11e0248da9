"""Hostile model files: damaged safetensors, configs of any shape, zip bombs, absurd sizes.
Each ends in a ModelLoadError (a StudioError) or a usable model, in bounded time and memory;
a scan lists every file, bad ones as broken, and never hides the good one beside them."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from studio.engine.models.registry import inspect_folder, scan
from tests.fuzz.conftest import case, snapshot
from tests.fuzz.strategies import JSON, deep_json, json_bytes, safetensors_files


def _good_file(folder: Path) -> Path:
    """A valid (if unknown) safetensors file that must stay listed beside the bad ones."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    path = folder / "good.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)
    return path


def _scan_keeps_everything(folder: Path, bad: str) -> None:
    listed = {info.name: info for info in scan([folder], kinds=None)}
    assert "good.safetensors" in listed, "a bad file hid a good one"
    assert bad in listed, "a bad file vanished from the list instead of being shown as broken"
    assert listed[bad].usable or listed[bad].problem


def _fresh(tmp_path: Path, name: str) -> Path:
    import shutil

    folder = tmp_path / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    _good_file(folder)
    return folder


@given(blob=safetensors_files())
def test_damaged_safetensors_are_refused_and_listed(tmp_path, clean, blob):
    folder = _fresh(tmp_path, "models")
    bad = folder / "bad.safetensors"
    bad.write_bytes(blob)
    before = snapshot(tmp_path)
    outcome = []
    with case("safetensors header", f"{len(blob)} bytes", outcome):
        outcome.append(clean(inspect_folder, bad))
        _scan_keeps_everything(folder, "bad.safetensors")
    assert snapshot(tmp_path) == before


def test_pathological_safetensors_headers(tmp_path, clean):
    """Depth, huge length fields and truncation at every byte of a real header."""
    folder = _fresh(tmp_path, "models")
    good = (folder / "good.safetensors").read_bytes()
    blobs = {
        "deep": struct.pack("<Q", 200_002) + deep_json(100_001),
        "length 2**63": struct.pack("<Q", 2**63) + b"{}",
        "length 99 MB": struct.pack("<Q", 99 * 2**20) + b"{" + b" " * 1000,
        "utf-16": struct.pack("<Q", 6) + "{}".encode("utf-16"),
        **{f"cut at {n}": good[:n] for n in range(0, len(good))},
    }
    for label, blob in blobs.items():
        bad = folder / "bad.safetensors"
        bad.write_bytes(blob)
        with case("safetensors header", label, outcome := []):
            outcome.append(clean(inspect_folder, bad))
            assert outcome == ["refused"], label
            _scan_keeps_everything(folder, "bad.safetensors")


CONFIG_FILES = {
    "model_index.json": "pipe/model_index.json",
    "unet config.json": "pipe/unet/config.json",
    "text_encoder config.json": "pipe/text_encoder/config.json",
    "scheduler_config.json": "pipe/scheduler/scheduler_config.json",
    "component config.json": "pipe/config.json",
    "starter.json": "pipe/starter.json",
}


def _pipeline(folder: Path) -> None:
    index = {"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "U"]}
    index.update(vae=["diffusers", "V"], scheduler=["diffusers", "S"])
    (folder / "pipe").mkdir()
    (folder / "pipe" / "model_index.json").write_text(json.dumps(index))
    for part in ("unet", "vae", "scheduler", "text_encoder"):
        (folder / "pipe" / part).mkdir()


@given(
    which=st.sampled_from(sorted(CONFIG_FILES)),
    value=st.one_of(JSON, st.dictionaries(st.sampled_from(
        ["_class_name", "in_channels", "cross_attention_dim", "block_out_channels",
         "prediction_type", "format", "version", "native_size", "unet", "vae", "hidden_act"]
    ), JSON, max_size=5)),
    starter=st.booleans(),
)  # fmt: skip
def test_malformed_configs_are_refused_and_listed(tmp_path, clean, which, value, starter):
    folder = _fresh(tmp_path, "models")
    _pipeline(folder)
    if starter and isinstance(value, dict) and which == "starter.json":
        value = {**value, "format": "studio-starter-diffusion"}
    target = folder / CONFIG_FILES[which]
    target.write_bytes(json_bytes(value))
    with case("model configs", which, outcome := []):
        outcome.append(clean(inspect_folder, folder / "pipe"))
        _scan_keeps_everything(folder, "pipe")


def test_deep_and_non_json_configs(tmp_path, clean):
    folder = _fresh(tmp_path, "models")
    _pipeline(folder)
    for which, rel in CONFIG_FILES.items():
        blobs = {"deep": deep_json(50_000), "binary": b"\xff\x00{", "nan": b'{"in_channels": NaN}'}
        for label, blob in blobs.items():
            target = folder / rel
            saved = target.read_bytes() if target.exists() else None
            target.write_bytes(blob)
            with case("model configs", f"{which} {label}", outcome := []):
                outcome.append(clean(inspect_folder, folder / "pipe"))
                _scan_keeps_everything(folder, "pipe")
            if saved is None:
                target.unlink()
            else:
                target.write_bytes(saved)


def _bomb(path: Path, gigabytes: float, stored_pickle: bool = True) -> None:
    """A torch-like zip: a small pickle, then a deflated member of zeros that claims GBs.
    The declared size is patched into the headers, so the file stays small to write."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.", zipfile.ZIP_STORED)
        archive.writestr("archive/data/0", b"\0" * 2**20, zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    claimed = int(gigabytes * 2**30) & 0xFFFFFFFF or 0xFFFFFFF0
    old = struct.pack("<I", 2**20)
    for magic in (b"PK\x03\x04", b"PK\x01\x02"):  # local header and central directory entry
        start = data.rfind(magic)
        at = data.find(old, start)
        data[at : at + 4] = struct.pack("<I", claimed)
    path.write_bytes(bytes(data))


@given(gigabytes=st.floats(0.2, 3.9), suffix=st.sampled_from([".ckpt", ".pt", ".pth", ".bin"]))
def test_zip_bomb_checkpoints_are_refused_before_unpacking(tmp_path, clean, gigabytes, suffix):
    folder = _fresh(tmp_path, "models")
    bomb = folder / f"bomb{suffix}"
    _bomb(bomb, gigabytes)
    with case("zip-bomb checkpoints", f"{gigabytes:.1f} GB {suffix}", outcome := []):
        outcome.append(clean(inspect_folder, bomb))
        assert outcome == ["refused"]
        info = {i.name: i for i in scan([folder], kinds=None)}[bomb.name]
        assert "without unpacking" in info.problem and "run code" not in info.problem
        _scan_keeps_everything(folder, bomb.name)


def test_real_zip_bomb_is_refused_from_declared_sizes(tmp_path, clean):
    """A genuine 1 GB-of-zeros member (~1 MB on disk) is refused with the sizes, not unpacked."""
    folder = _fresh(tmp_path, "models")
    bomb = folder / "bomb.ckpt"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.", zipfile.ZIP_STORED)
        with archive.open("archive/data/0", "w", force_zip64=True) as member:
            block = b"\0" * 2**24
            for _ in range(64):
                member.write(block)
    assert bomb.stat().st_size < 4 * 2**20
    with case("zip-bomb checkpoints", "1 GB of zeros", outcome := []):
        outcome.append(clean(inspect_folder, bomb))
        assert outcome == ["refused"]


@given(
    width=st.integers(2**14, 2**31),
    levels=st.integers(1, 16),
    where=st.sampled_from(["unet", "vae", "text_encoder", "starter"]),
)
def test_absurd_sizes_are_refused_before_building(tmp_path, clean, width, levels, where):
    """A config describing billions of parameters is refused from its numbers, in milliseconds,
    by every path that would build it: the scan, the SD loader and the starter loader."""
    from studio.engine.diffusion.loading import load_sd_pipeline
    from studio.engine.starter.model import load_starter

    folder = _fresh(tmp_path, "models")
    _pipeline(folder)
    pipe = folder / "pipe"
    if where == "starter":
        unet = {"block_out_channels": [width] * levels}
        cfg = {"format": "studio-starter-diffusion", "version": 1, "unet": unet}
        (pipe / "starter.json").write_text(json.dumps(cfg))
        load = load_starter
    elif where == "text_encoder":
        config = {"hidden_size": width, "num_hidden_layers": 24 * levels, "vocab_size": 49408}
        (pipe / where / "config.json").write_text(json.dumps(config))
        load = lambda p: load_sd_pipeline(str(p), "cpu", "float32")  # noqa: E731
    else:
        config = {"_class_name": "UNet2DConditionModel", "block_out_channels": [width] * levels}
        (pipe / where / "config.json").write_text(json.dumps(config))
        load = lambda p: load_sd_pipeline(str(p), "cpu", "float32")  # noqa: E731
    with case("absurd config sizes", f"{where} {levels}x{width}", outcome := []):
        outcome.append(clean(load, pipe))
        assert outcome == ["refused"]
        _scan_keeps_everything(folder, "pipe")
