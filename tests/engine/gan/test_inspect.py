"""Registry helper: which GAN a file holds, from names and shapes only."""

from __future__ import annotations

import json

import torch
from safetensors.torch import save_file

from studio.engine.gan.inspect import classify
from tests.engine.gan.reference_pix2pix import RefResnetGenerator, RefUnetGenerator
from tests.engine.gan.reference_spade import RefConvEncoder, RefGenerator


def test_classify_gan_files(tmp_path):
    def save(name, module):
        path = tmp_path / name
        torch.save(module.state_dict(), path)
        return path

    ade = save("ade.pth", RefGenerator(151, ngf=2, hidden=4, crop=32))
    own = save("own.pth", RefGenerator(25, ngf=2, hidden=4, crop=32))
    assert classify(ade).kind == "spade" and classify(ade).label_space == "ade20k"
    assert classify(own).problem and classify(own).label_space is None
    (tmp_path / "own.json").write_text(json.dumps({"label_set": "landscape"}))
    assert classify(own).label_space == "landscape" and classify(own).problem is None
    assert classify(save("e.pth", RefConvEncoder(ndf=2, z_dim=4))).kind == "spade-encoder"
    assert classify(save("r.pth", RefResnetGenerator(ngf=2, n_blocks=1))).kind == "pix2pix-resnet"
    unet = RefUnetGenerator(ngf=2)
    st = tmp_path / "u.safetensors"
    save_file({k: v.contiguous() for k, v in unet.state_dict().items()}, str(st))
    assert classify(st).kind == "pix2pix-unet"
    other = tmp_path / "other.safetensors"
    save_file({"encoder.weight": torch.zeros(2, 2)}, str(other))
    assert classify(other) is None
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    assert classify(broken).kind == "unknown" and "broken.pth" in classify(broken).problem


def test_registry_lists_gan_files(tmp_path):
    from studio.engine.models.registry import inspect_file, scan

    torch.save(RefGenerator(151, ngf=2, hidden=4, crop=32).state_dict(), tmp_path / "ade.pth")
    torch.save(RefConvEncoder(ndf=2, z_dim=4).state_dict(), tmp_path / "enc.pth")
    info = inspect_file(tmp_path / "ade.pth")
    assert (info.kind, info.family, info.variant, info.usable) == ("gan", "spade", "ade20k", True)
    encoder = inspect_file(tmp_path / "enc.pth")
    assert encoder.kind == "gan" and "style encoder" in encoder.problem
    assert {m.name for m in scan([tmp_path], kinds=None) if m.kind == "gan"} == {
        "ade.pth",
        "enc.pth",
    }
