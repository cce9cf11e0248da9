"""Rebuild golden.npz / golden3.npz: NVIDIA's reference generators run on random weights of
tiny configurations. StyleGAN2 (golden.npz): skip + class labels + a low conv clamp; resnet;
orig. StyleGAN3 (golden3.npz): T with class labels, R (1x1 convs, radial filters), each also
panned and rotated through the input transform as gen_images.py does. Not a test.

    python tests/engine/stylegan/make_golden.py sg2 /path/to/stylegan2-ada-pytorch
    python tests/engine/stylegan/make_golden.py sg3 /path/to/stylegan3   # needs pkg_resources

The NVlabs checkout stays outside this repository (its code is non-commercial); only the random
weights and the pictures its code made from them are kept, as numbers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

CONFIGS = {
    "sg2_cond_skip": dict(
        z_dim=16, c_dim=3, w_dim=16, img_resolution=16, img_channels=3,
        mapping_kwargs=dict(num_layers=2),
        synthesis_kwargs=dict(channel_base=64, channel_max=16, conv_clamp=0.8),
    ),
    "sg2_uncond_resnet": dict(
        z_dim=12, c_dim=0, w_dim=8, img_resolution=32, img_channels=3,
        mapping_kwargs=dict(num_layers=3),
        synthesis_kwargs=dict(channel_base=128, channel_max=8, architecture="resnet"),
    ),
    "sg2_orig": dict(
        z_dim=8, c_dim=0, w_dim=8, img_resolution=8, img_channels=3,
        mapping_kwargs=dict(num_layers=1),
        synthesis_kwargs=dict(channel_base=32, channel_max=8, architecture="orig"),
    ),
}  # fmt: skip
CONFIGS3 = {
    "sg3_t": dict(
        z_dim=8, c_dim=2, w_dim=8, img_resolution=16, img_channels=3,
        mapping_kwargs=dict(num_layers=2), channel_base=64, channel_max=8, num_layers=4,
        num_critical=1, margin_size=4, conv_clamp=256,
    ),
    "sg3_r": dict(
        z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3,
        mapping_kwargs=dict(num_layers=2), channel_base=128, channel_max=16, num_layers=4,
        num_critical=1, margin_size=4, conv_kernel=1, use_radial_filters=True,
    ),
}  # fmt: skip
CASES3 = [(0, 1.0, 0.0, 0.0, 0.0), (1, 0.7, 0.2, -0.1, 30.0), (42, 1.0, 0.0, 0.0, 0.0)]
SEEDS = (0, 1, 42)
CASES = [(seed, psi, noise) for seed in SEEDS for psi, noise in ((1.0, "const"), (0.7, "none"))]


def randomise(net, torch) -> None:
    """Random weights everywhere (NVlabs starts biases and noise at 0); the filters stay."""
    with torch.no_grad():
        for key, p in [*net.named_parameters(), *net.named_buffers()]:
            if key.endswith("magnitude_ema"):
                p.copy_(torch.rand([]) + 0.5)
            elif not key.endswith(("resample_filter", "up_filter", "down_filter", "freqs",
                                   "phases", "transform")):  # fmt: skip
                big = key.startswith("mapping.fc") and key.endswith("weight")
                p.copy_(torch.randn_like(p) * (100.0 if big else 0.5))  # undo lr 0.01


def inverse_transform(tx: float, ty: float, degrees: float) -> np.ndarray:
    """What gen_images.py stores in synthesis.input.transform for --translate/--rotate."""
    a = np.radians(degrees)
    m = np.array([[np.cos(a), np.sin(a), tx], [-np.sin(a), np.cos(a), ty], [0, 0, 1]])
    return np.linalg.inv(m)


def main3(nvlabs: str) -> None:
    import torch

    sys.path.insert(0, nvlabs)
    from training.networks_stylegan3 import Generator

    out: dict[str, np.ndarray] = {}
    for index, (name, cfg) in enumerate(CONFIGS3.items()):
        torch.manual_seed(10 + index)
        net = Generator(**cfg).eval()
        randomise(net, torch)
        for key, value in net.state_dict().items():
            out[f"{name}/sd/{key}"] = value.numpy()
        out[f"{name}/config"] = np.frombuffer(json.dumps(cfg).encode(), np.uint8)
        for seed, psi, tx, ty, rot in CASES3:
            net.synthesis.input.transform.copy_(torch.from_numpy(inverse_transform(tx, ty, rot)))
            z = torch.from_numpy(np.random.RandomState(seed).randn(1, net.z_dim))
            c = torch.zeros([1, net.c_dim])
            if net.c_dim:
                c[:, seed % net.c_dim] = 1
            with torch.no_grad():
                img = net(z, c, truncation_psi=psi, noise_mode="const", force_fp32=True)
            out[f"{name}/img/{seed}/{psi}/{tx},{ty},{rot}"] = img.numpy()
    np.savez_compressed(Path(__file__).with_name("data") / "golden3.npz", **out)


def main(nvlabs: str) -> None:
    import torch

    sys.path.insert(0, nvlabs)
    from training.networks import Generator  # the reference, from the user's own checkout

    out: dict[str, np.ndarray] = {}
    for index, (name, cfg) in enumerate(CONFIGS.items()):
        torch.manual_seed(index)
        net = Generator(**cfg).eval()
        randomise(net, torch)
        for key, value in net.state_dict().items():
            out[f"{name}/sd/{key}"] = value.numpy()
        out[f"{name}/config"] = np.frombuffer(json.dumps(cfg).encode(), np.uint8)
        for seed, psi, noise in CASES:
            z = torch.from_numpy(np.random.RandomState(seed).randn(1, net.z_dim))
            c = torch.zeros([1, net.c_dim])
            if net.c_dim:
                c[:, seed % net.c_dim] = 1
            with torch.no_grad():
                img = net(z, c, truncation_psi=psi, noise_mode=noise, force_fp32=True)
            out[f"{name}/img/{seed}/{psi}/{noise}"] = img.numpy()
    np.savez_compressed(Path(__file__).with_name("data") / "golden.npz", **out)


if __name__ == "__main__":
    (main3 if sys.argv[1] == "sg3" else main)(sys.argv[2])
