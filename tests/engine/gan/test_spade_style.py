"""VAE-trained SPADE: the style encoder (netE) and z from a style image or a seed."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from studio.engine.gan.engine import GanEngine
from studio.engine.gan.requests import SpadeRequest
from studio.engine.gan.spade_style import load_encoder_file
from studio.errors import InvalidRequestError
from tests.engine.gan.reference_spade import RefConvEncoder, RefGenerator, trained_looking


def _tensor2im(x):
    return np.clip((x[0].numpy().transpose(1, 2, 0) + 1) / 2.0 * 255.0, 0, 255).astype(np.uint8)


@pytest.fixture()
def vae_pair(tmp_path):
    torch.manual_seed(0)
    gen = trained_looking(RefGenerator(151, ngf=2, hidden=8, crop=64, z_dim=16), 151, 64, 64)
    enc = RefConvEncoder(ndf=2, z_dim=16)
    enc.train()
    with torch.no_grad():
        enc(torch.rand(2, 3, 256, 256))  # move the SN vectors off their initial values
    enc.eval()
    torch.save(gen.state_dict(), tmp_path / "latest_net_G.pth")
    torch.save(enc.state_dict(), tmp_path / "latest_net_E.pth")
    return tmp_path, gen, enc


def test_encoder_equals_the_reference(vae_pair):
    folder, _, enc = vae_pair
    ours = load_encoder_file(folder / "latest_net_E.pth")
    x = torch.rand(1, 3, 100, 140) * 2 - 1
    with torch.no_grad():
        for a, b in zip(ours(x), enc(x), strict=True):
            assert torch.allclose(a, b, atol=1e-5)


def test_style_image_and_seed_set_z(vae_pair):
    folder, gen, enc = vae_pair
    ids = np.full((64, 64), 3, np.uint16)
    ids[32:] = 10
    style = np.random.default_rng(0).integers(0, 256, (80, 120, 3), dtype=np.uint8)
    engine = GanEngine()
    path = str(folder / "latest_net_G.pth")
    styled = engine.run(
        SpadeRequest(path, ids, style_image=style, seed=4), lambda s: None, threading.Event()
    )
    label = torch.from_numpy(ids.astype(np.int64) - 1)
    seg = torch.zeros(1, 151, 64, 64).scatter_(1, label[None, None], 1.0)
    x = torch.from_numpy(style.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1)
    with torch.no_grad():
        mu, logvar = enc(x)
        eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(4))
        expected = _tensor2im(gen(seg, eps * torch.exp(0.5 * logvar) + mu))
    assert np.abs(styled.image.astype(int) - expected).max() <= 1
    a = engine.run(SpadeRequest(path, ids, seed=1), lambda s: None, threading.Event()).image
    b = engine.run(SpadeRequest(path, ids, seed=2), lambda s: None, threading.Event()).image
    assert not np.array_equal(a, b)  # without a style image, the seed gives variety
    (folder / "latest_net_E.pth").unlink()
    fresh = GanEngine()
    with pytest.raises(InvalidRequestError, match="No style encoder"):
        fresh.run(SpadeRequest(path, ids, style_image=style), lambda s: None, threading.Event())
