"""SPADE's style encoder (netE, VAE-trained checkpoints): style image -> z = mu + eps * std."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.gan.spade import fold_spectral_norm
from studio.engine.gan.weights import load_strict, read_state_dict
from studio.errors import ModelLoadError

STYLE_SIZE = 256  # the encoder always sees the style image resized to 256x256 (bilinear)


def encoder_path(generator: str | Path) -> Path | None:
    """`…_net_E.<ext>` next to `…_net_G.<ext>` (how SPADE saves the pair), if present."""
    generator = Path(generator)
    if "_net_G" not in generator.stem:
        return None
    stem = generator.stem.replace("_net_G", "_net_E")
    for suffix in (generator.suffix, ".safetensors", ".pth"):
        if (generator.with_name(stem + suffix)).is_file():
            return generator.with_name(stem + suffix)
    return None


@functools.cache
def _encoder_class():
    import torch
    from torch import nn
    from torch.nn import functional as F

    class ConvEncoder(nn.Module):
        """Stride-2 3x3 convs (spectral norm folded, no bias) + instance norm, then mu/logvar."""

        def __init__(self, widths: list[int], flat: int, z_dim: int) -> None:
            super().__init__()
            self.n_layers = len(widths) - 1
            for i in range(self.n_layers):
                conv = nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1, bias=False)
                norm = nn.InstanceNorm2d(widths[i + 1], affine=False)
                self.add_module(f"layer{i + 1}", nn.Sequential(conv, norm))
            self.fc_mu = nn.Linear(flat, z_dim)
            self.fc_var = nn.Linear(flat, z_dim)

        def forward(self, x):
            if x.shape[2:] != (STYLE_SIZE, STYLE_SIZE):
                x = F.interpolate(x, size=(STYLE_SIZE, STYLE_SIZE), mode="bilinear")
            x = self.layer1(x)
            for i in range(2, self.n_layers + 1):
                x = getattr(self, f"layer{i}")(F.leaky_relu(x, 0.2))
            x = torch.flatten(F.leaky_relu(x, 0.2), 1)
            return self.fc_mu(x), self.fc_var(x)

    return ConvEncoder


def build_encoder(sd: dict[str, Any]):
    """Read widths from a folded netE state dict and build the module (eval)."""
    n = 0
    while f"layer{n + 1}.0.weight" in sd:
        n += 1
    if n == 0 or "fc_mu.weight" not in sd:
        raise ModelLoadError(
            "This file is not a SPADE style encoder.",
            f"Expected layer1.0.weight_orig … and fc_mu.weight; found {sorted(sd)[:10]}",
        )
    widths = [int(sd["layer1.0.weight"].shape[1])]
    widths += [int(sd[f"layer{i}.0.weight"].shape[0]) for i in range(1, n + 1)]
    mu = sd["fc_mu.weight"]
    return _encoder_class()(widths, int(mu.shape[1]), int(mu.shape[0])).eval()


def load_encoder_file(path: str | Path, device: str = "cpu"):
    """netE loaded strictly (spectral norm folded as for the generator)."""
    sd = fold_spectral_norm(read_state_dict(path))
    sd = {k: v for k, v in sd.items() if not re.search(r"\.1\.(running_|num_batches)", k)}
    return load_strict(lambda: build_encoder(sd), sd, "style encoder").to(device)


def load_style_encoder(generator: str | Path, device: str = "cpu"):
    """The encoder saved next to a generator, or None."""
    path = encoder_path(generator)
    return load_encoder_file(path, device) if path is not None else None


def encode_style(encoder, image: np.ndarray, generator, device: str):
    """z [1, z_dim] for an HxWx3 uint8 style image: mu + eps * exp(logvar / 2), eps seeded."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float()[None]
    x = (x / 127.5 - 1.0).to(device)  # Normalize(mean=0.5, std=0.5) on [0, 1]
    with torch.inference_mode():
        mu, logvar = encoder(x)
    eps = torch.randn(mu.shape, generator=generator).to(device)
    return eps * torch.exp(0.5 * logvar) + mu
