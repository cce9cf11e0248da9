"""`studio models add`: the model manager's Add from the command line."""

from __future__ import annotations

import torch

from tests.app.test_cli import studio
from tests.engine.gan.reference_spade import RefGenerator
from tests.engine.models.test_catalog import lora


def test_models_add_copies_converts_and_refuses_plainly(tmp_path):
    dest = tmp_path / "models"
    style = lora(tmp_path / "style.safetensors")
    torch.save(RefGenerator(151, ngf=2, hidden=4, crop=32).state_dict(), tmp_path / "old.pth")
    (tmp_path / "junk.ckpt").write_bytes(b"junk")
    paths = [str(style), str(tmp_path / "old.pth"), str(tmp_path / "junk.ckpt")]
    done = studio("models", "add", *paths, "--to", str(dest))
    assert done.returncode == 2  # one of three failed
    assert "added style.safetensors (LoRA (SD 1.x), copied)" in done.stdout
    assert "added old.safetensors (SPADE · ade20k, converted to .safetensors)" in done.stdout
    assert "studio: error: junk.ckpt is not a readable checkpoint." in done.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["old.safetensors", "style.safetensors"]
    assert style.exists() and (tmp_path / "old.pth").exists()
