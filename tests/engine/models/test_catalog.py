"""The model manager's catalogue: kind, size, precision, licence and card of installed models."""

from __future__ import annotations

import json
import shutil

import torch
from safetensors.torch import save_file

from studio.engine.models import catalog
from studio.engine.models.catalog import describe, list_installed, precision
from studio.engine.models.registry import inspect_file
from tests.engine.gan.reference_spade import RefGenerator

CARD = """---
license: creativeml-openrail-m
tags:
- stable-diffusion
---
# Tiny SD

A test model.
"""


def lora(path, width=768, dtype=torch.float16):
    key = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    save_file(
        {f"{key}.lora_down.weight": torch.zeros(4, width, dtype=dtype),
         f"{key}.lora_up.weight": torch.zeros(320, 4, dtype=dtype)},
        str(path),
    )  # fmt: skip
    return path


def taesd(path):
    # decoder Sequential of the original TAESD .pth layout: 1.weight is the first conv (64, 4, 3, 3)
    save_file({"1.weight": torch.zeros(64, 4, 3, 3), "1.bias": torch.zeros(64)}, str(path))
    return path


def spade(path):
    gen = RefGenerator(151, ngf=2, hidden=4, crop=32)
    if path.suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in gen.state_dict().items()}, str(path))
    else:
        torch.save(gen.state_dict(), path)
    return path


def test_precision_reads_headers_only(tmp_path):
    half = lora(tmp_path / "half.safetensors")
    full = lora(tmp_path / "full.safetensors", dtype=torch.float32)
    bf = lora(tmp_path / "bf.safetensors", dtype=torch.bfloat16)
    assert (precision(half), precision(full), precision(bf)) == ("fp16", "fp32", "bf16")
    assert catalog.tensor_bytes_by_dtype(half) == {"F16": (4 * 768 + 320 * 4) * 2}
    torch.save({"w": torch.zeros(2)}, tmp_path / "p.pt")
    assert precision(tmp_path / "p.pt") == "unknown (pickle)"
    folder = tmp_path / "mixed"
    folder.mkdir()
    save_file({"a": torch.zeros(100, dtype=torch.float16)}, str(folder / "a.safetensors"))
    save_file({"b": torch.zeros(10)}, str(folder / "b.safetensors"))
    assert precision(folder) == "fp16 + fp32"  # most bytes first


def test_every_kind_is_listed_with_size_precision_and_place(tmp_path, tiny_sd_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(tiny_sd_path, models / "tiny-sd")
    (models / "tiny-sd" / "README.md").write_text(CARD)
    lora(models / "style-lora.safetensors")
    taesd(models / "taesd.safetensors")
    spade(models / "ade.safetensors")
    spade(models / "ade-old.pth")
    (models / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    (models / "notes.txt").write_text("not a model")
    entries = {e.name: e for e in list_installed(places={"User models": str(models)})}
    assert set(entries) == {
        "tiny-sd", "style-lora.safetensors", "taesd.safetensors", "ade.safetensors",
        "ade-old.pth", "broken.safetensors",
    }  # fmt: skip
    sd = entries["tiny-sd"]
    assert sd.kind_label == "SD 1.x" and "sd1" in sd.groups
    assert sd.precision == "fp32" and sd.location == "User models"
    assert sd.licence == "creativeml-openrail-m"
    assert sd.card_path.endswith("README.md")
    assert sd.size_bytes == sum(
        f.stat().st_size for f in (models / "tiny-sd").rglob("*") if f.is_file()
    )
    assert entries["style-lora.safetensors"].kind_label == "LoRA (SD 1.x)"
    assert entries["style-lora.safetensors"].precision == "fp16"
    assert entries["taesd.safetensors"].groups == ("taesd",)
    assert entries["ade.safetensors"].kind_label == "SPADE · ade20k"
    assert entries["ade-old.pth"].precision == "unknown (pickle)"
    broken = entries["broken.safetensors"]
    assert broken.groups == ("unusable",) and "not a readable" in broken.info.problem


def test_search_and_kind_filter(tmp_path):
    lora(tmp_path / "ink-style.safetensors")
    taesd(tmp_path / "taesd.safetensors")
    entries = list_installed(places={"User models": str(tmp_path)})
    assert [e.name for e in entries if e.matches("ink")] == ["ink-style.safetensors"]
    assert [e.name for e in entries if e.matches("", "taesd")] == ["taesd.safetensors"]
    assert [e.name for e in entries if e.matches("lora fp16", "lora")] == ["ink-style.safetensors"]
    assert [e.name for e in entries if e.matches("ink", "taesd")] == []


def test_licence_from_model_index_and_file_metadata(tmp_path, tiny_sd_path):
    folder = shutil.copytree(tiny_sd_path, tmp_path / "sd")
    index = json.loads((folder / "model_index.json").read_text())
    (folder / "model_index.json").write_text(json.dumps({**index, "license": "apache-2.0"}))
    assert catalog.licence(folder) == "apache-2.0"
    path = tmp_path / "x.safetensors"
    save_file({"w": torch.zeros(1)}, str(path), metadata={"modelspec.license": "mit"})
    assert catalog.licence(path) == "mit"
    other = "---\nlicense: other\nlicense_name: my-licence\nlicense_link: LICENSE.md\n---\n"
    assert catalog.card_licence(other) == "my-licence (LICENSE.md)"
    assert catalog.card_licence("# no front matter\nlicense: mit") is None


def test_starter_models_and_sidecars(tmp_path):
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    path = spade(bundled / "starter-spade.safetensors")
    (bundled / "starter-spade.json").write_text(json.dumps({"label_set": "landscape"}))
    (bundled / "starter-spade.md").write_text("---\nlicense: mit\n---\nOur own.")
    entry = describe(inspect_file(path), {"Starter (bundled)": str(bundled)})
    assert entry.kind_label.startswith("Starter · SPADE") and "starter" in entry.groups
    assert entry.licence == "mit" and entry.card_path.endswith("starter-spade.md")
    assert {p.rsplit("/", 1)[1] for p in entry.sidecars} == {
        "starter-spade.json",
        "starter-spade.md",
    }


def test_pix2pix_and_cyclegan_generators_are_told_apart(tmp_path):
    from tests.engine.gan.reference_pix2pix import RefResnetGenerator, RefUnetGenerator

    def save(name, module):
        save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(tmp_path / name))

    save("facades.safetensors", RefUnetGenerator(ngf=2))
    save("horse2zebra_G_A.safetensors", RefResnetGenerator(ngf=2, n_blocks=1))
    save("horse2zebra_G_B.safetensors", RefResnetGenerator(ngf=2, n_blocks=1))
    entries = {e.name: e for e in list_installed(places={"User models": str(tmp_path)})}
    assert entries["facades.safetensors"].kind_label == "pix2pix (U-Net)"
    assert entries["facades.safetensors"].groups == ("pix2pix",)
    assert entries["horse2zebra_G_A.safetensors"].kind_label == "CycleGAN generator (A→B)"
    assert entries["horse2zebra_G_B.safetensors"].groups == ("cyclegan",)
