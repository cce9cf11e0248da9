"""Rebuild golden.npz: NVIDIA's reference StyleGAN2 generator run on random weights of three tiny
configurations (skip + class labels + a low conv clamp; resnet; orig). Not a test.

    python tests/engine/stylegan/make_golden.py /path/to/stylegan2-ada-pytorch

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
SEEDS = (0, 1, 42)
CASES = [(seed, psi, noise) for seed in SEEDS for psi, noise in ((1.0, "const"), (0.7, "none"))]


def main(nvlabs: str) -> None:
    import torch

    sys.path.insert(0, nvlabs)
    from training.networks import Generator  # the reference, from the user's own checkout

    out: dict[str, np.ndarray] = {}
    for index, (name, cfg) in enumerate(CONFIGS.items()):
        torch.manual_seed(index)
        net = Generator(**cfg).eval()
        with torch.no_grad():  # random weights everywhere (NVlabs starts biases and noise at 0)
            for key, p in [*net.named_parameters(), *net.named_buffers()]:
                if not key.endswith("resample_filter"):
                    big = key.startswith("mapping.fc") and key.endswith("weight")
                    p.copy_(torch.randn_like(p) * (100.0 if big else 0.5))  # undo lr 0.01
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
    main(sys.argv[1])
