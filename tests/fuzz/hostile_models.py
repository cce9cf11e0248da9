"""One broken model of each class, written into a folder (for the scan and GUI start tests)."""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path


def _safetensors(header: object, data: bytes = b"", length: int | None = None) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def _folder(root: Path, name: str, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / name / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def write_hostile_models(root: Path) -> list[str]:
    """Names of the broken entries written into `root` (each must be listed as broken)."""
    entry = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    files = {
        "cut-short.safetensors": _safetensors({"w": entry}, b"\0" * 3),
        "meta-list.safetensors": _safetensors({"__metadata__": {"a": [1]}, "w": entry}, b"\0" * 8),
        "shape-int.safetensors": _safetensors({"w": {**entry, "shape": 2}}, b"\0" * 8),
        "offsets-far.safetensors": _safetensors({"w": {**entry, "data_offsets": [0, 2**60]}}),
        "huge-length.safetensors": struct.pack("<Q", 2**63) + b"{}",
        "deep.safetensors": struct.pack("<Q", 100_000) + b"[" * 50_000 + b"]" * 50_000,
        "garbage.ckpt": b"\x80\x04not a pickle at all" * 10,
    }
    for name, blob in files.items():
        (root / name).write_bytes(blob)
    with zipfile.ZipFile(root / "bomb.ckpt", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("archive/data/0", b"\0" * 64 * 2**20)
    pipe = '{"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "U"]}'
    unet = "unet/config.json"
    starter = '{"format": "studio-starter-diffusion", '
    folders = {
        "index-list": {"model_index.json": "[1, 2, 3]"},
        "index-types": {"model_index.json": '{"_class_name": ["x"], "unet": []}'},
        "unet-types": {"model_index.json": pipe, unet: '{"in_channels": "9"}'},
        "unet-absurd": {"model_index.json": pipe, unet: '{"block_out_channels": [900000, 900000]}'},
        "sched-bad": {
            "model_index.json": pipe,
            unet: "{}",
            "scheduler/scheduler_config.json": "[]",
        },
        "component-deep": {"config.json": "[" * 10_000 + "]" * 10_000},
        "starter-types": {"starter.json": starter + '"native_size": "big"}'},
        "starter-nan": {"starter.json": starter + '"default_guidance_scale": NaN}'},
    }
    for name, texts in folders.items():
        _folder(root, name, texts)
    return [*files, "bomb.ckpt", *folders]
