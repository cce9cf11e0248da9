"""Our pure-torch StyleGAN2 generator against NVIDIA's reference code: golden.npz holds random
weights of three tiny configurations and the pictures NVIDIA's generator made from them
(make_golden.py rebuilds it from a checkout of NVlabs/stylegan2-ada-pytorch kept outside)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from studio.engine.stylegan.config import from_init_kwargs, from_state_dict
from studio.engine.stylegan.load import build
from studio.engine.stylegan.seeds import z_for_seed

GOLDEN = Path(__file__).with_name("data") / "golden.npz"
NAMES = ("sg2_cond_skip", "sg2_uncond_resnet", "sg2_orig")


@pytest.fixture(scope="module")
def golden():
    with np.load(GOLDEN) as data:
        return {k: data[k] for k in data.files}


def _case(golden, name):
    cfg = from_init_kwargs(json.loads(bytes(golden[f"{name}/config"]).decode()))
    prefix = f"{name}/sd/"
    sd = {k[len(prefix) :]: torch.from_numpy(v) for k, v in golden.items() if k.startswith(prefix)}
    cases = [k for k in golden if k.startswith(f"{name}/img/")]
    return cfg, sd, cases


def _render(net, cfg, key):
    _name, _img, seed, psi, noise = key.split("/")
    c = torch.zeros(1, cfg.c_dim)
    if cfg.c_dim:
        c[:, int(seed) % cfg.c_dim] = 1
    with torch.no_grad():
        return net(z_for_seed(int(seed), cfg.z_dim), c, float(psi), noise).numpy()


@pytest.mark.parametrize("name", NAMES)
def test_matches_nvidias_generator_for_the_same_weights(golden, name):
    cfg, sd, cases = _case(golden, name)
    net = build(cfg, sd)
    assert len(cases) == 6
    worst = max(float(np.abs(_render(net, cfg, k) - golden[k]).max()) for k in cases)
    assert worst < 1e-5, f"max abs difference {worst}"
    consts = [golden[k] for k in cases if k.endswith("/const")]  # seeds 0, 1, 42 differ
    assert min(np.abs(a - b).max() for a, b in zip(consts, consts[1:], strict=False)) > 0.05


def test_a_wrong_truncation_centre_is_noticed(golden):
    cfg, sd, cases = _case(golden, "sg2_cond_skip")
    sd = {**sd, "mapping.w_avg": sd["mapping.w_avg"] + 0.5}
    key = next(k for k in cases if "/0.7/" in k)
    assert np.abs(_render(build(cfg, sd), cfg, key) - golden[key]).max() > 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_the_architecture_is_read_back_from_the_weights_alone(golden, name):
    cfg, sd, _cases = _case(golden, name)
    found = from_state_dict({k: tuple(v.shape) for k, v in sd.items()})
    assert (found.architecture, found.channels, found.c_dim) == (
        cfg.architecture, cfg.channels, cfg.c_dim)  # fmt: skip
    assert (found.z_dim, found.w_dim, found.num_ws) == (cfg.z_dim, cfg.w_dim, cfg.num_ws)


GOLDEN3 = Path(__file__).with_name("data") / "golden3.npz"


@pytest.mark.parametrize("name", ("sg3_t", "sg3_r"))
def test_stylegan3_matches_nvidias_generator_panned_and_rotated(name):
    from studio.engine.stylegan.sg3 import StyleGAN3Config

    with np.load(GOLDEN3) as data:
        golden = {k: data[k] for k in data.files}
    cfg = StyleGAN3Config.from_init_kwargs(json.loads(bytes(golden[f"{name}/config"]).decode()))
    prefix = f"{name}/sd/"
    sd = {k[len(prefix) :]: torch.from_numpy(v) for k, v in golden.items() if k.startswith(prefix)}
    net = build(cfg, sd)
    cases = [k for k in golden if k.startswith(f"{name}/img/")]
    assert len(cases) == 3
    for key in cases:
        _name, _img, seed, psi, place = key.split("/")
        tx, ty, degrees = (float(v) for v in place.split(","))
        net.set_transform((tx, ty), degrees)
        c = torch.zeros(1, cfg.c_dim)
        if cfg.c_dim:
            c[:, int(seed) % cfg.c_dim] = 1
        with torch.no_grad():
            picture = net(z_for_seed(int(seed), cfg.z_dim), c, float(psi)).numpy()
        worst = float(np.abs(picture - golden[key]).max())
        assert worst < 1e-6 * max(1.0, float(np.abs(golden[key]).max())), (key, worst)
    moved = next(k for k in cases if "30.0" in k)  # the transform really moves the picture
    assert np.abs(golden[moved] - golden[cases[0]]).max() > 1e-3
