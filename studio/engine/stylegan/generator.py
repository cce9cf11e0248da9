"""Our own StyleGAN2 generator in plain torch: the mapping network (z, class -> W) and the
synthesis network (W -> picture) with modulated convolutions, noise inputs and the skip /
orig / resnet architectures. Parameter names follow NVlabs' so their weights load as they are."""

from __future__ import annotations

import math

import torch
from torch import nn

from studio.engine.stylegan.config import StyleGANConfig
from studio.engine.stylegan.ops import (
    bias_act,
    fir_filter,
    modulated_conv,
    normalize_2nd_moment,
    upsample2x,
)

NOISE_MODES = ("const", "random", "none")


class Dense(nn.Module):
    """A fully connected layer with equalised learning rate (weights scaled at run time)."""

    def __init__(self, n_in: int, n_out: int, act: str = "linear", lr: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_out, n_in))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.act, self.lr, self.weight_gain = act, lr, lr / math.sqrt(n_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.matmul((self.weight * self.weight_gain).t())
        return bias_act(x, self.bias * self.lr, self.act)


class Mapping(nn.Module):
    """z (and a one-hot class) -> W, with the running average W used for truncation."""

    def __init__(self, cfg: StyleGANConfig) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.num_ws = cfg.z_dim, cfg.c_dim, cfg.num_ws
        embed = (cfg.embed_features or cfg.w_dim) if cfg.c_dim else 0
        width = cfg.layer_features or cfg.w_dim
        sizes = [cfg.z_dim + embed] + [width] * (cfg.mapping_layers - 1) + [cfg.w_dim]
        if cfg.c_dim:
            self.embed = Dense(cfg.c_dim, embed)
        for i in range(cfg.mapping_layers):
            self.add_module(f"fc{i}", Dense(sizes[i], sizes[i + 1], "lrelu", cfg.lr_multiplier))
        self.layers = cfg.mapping_layers
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None, psi: float = 1.0) -> torch.Tensor:
        """NxZ (float) and NxC one-hot -> Nxnum_wsxW, truncated towards w_avg by `psi`."""
        parts = [normalize_2nd_moment(z.float())] if self.z_dim else []
        if self.c_dim:
            parts.append(normalize_2nd_moment(self.embed(c.float())))
        x = torch.cat(parts, dim=1)
        for i in range(self.layers):
            x = getattr(self, f"fc{i}")(x)
        x = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        return self.w_avg.lerp(x, psi) if psi != 1 else x


class StyledConv(nn.Module):
    """A modulated 3x3 convolution (optionally at twice the size), noise, bias, leaky ReLU."""

    def __init__(self, n_in: int, n_out: int, w_dim: int, res: int, up: bool, clamp) -> None:
        super().__init__()
        self.affine = Dense(w_dim, n_in)
        self.weight = nn.Parameter(torch.zeros(n_out, n_in, 3, 3))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("noise_const", torch.zeros(res, res))
        self.register_buffer("resample_filter", fir_filter())
        self.up, self.res, self.clamp = up, res, clamp

    def forward(self, x, w, noise_mode: str, gen: torch.Generator | None, gain: float = 1.0):
        x = modulated_conv(x, self.weight, self.affine(w), up=self.up, f=self.resample_filter)
        if noise_mode == "const":
            x = x + self.noise_const * self.noise_strength
        elif noise_mode == "random":
            shape = (x.shape[0], 1, self.res, self.res)
            noise = torch.randn(shape, generator=gen, device=gen.device if gen else x.device)
            x = x + noise.to(x.device) * self.noise_strength
        clamp = self.clamp * gain if self.clamp is not None else None
        return bias_act(x, self.bias, "lrelu", gain, clamp)


class ToRGB(nn.Module):
    """A modulated 1x1 convolution to the picture's channels (no demodulation)."""

    def __init__(self, n_in: int, n_out: int, w_dim: int, clamp) -> None:
        super().__init__()
        self.affine = Dense(w_dim, n_in)
        self.weight = nn.Parameter(torch.zeros(n_out, n_in, 1, 1))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.gain, self.clamp = 1 / math.sqrt(n_in), clamp

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.gain
        x = modulated_conv(x, self.weight, styles, demodulate=False)
        return bias_act(x, self.bias, clamp=self.clamp)


class Skip(nn.Module):
    """The resnet architecture's shortcut: a 1x1 convolution, then up 2x through the filter."""

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_out, n_in, 1, 1))
        self.register_buffer("resample_filter", fir_filter())
        self.gain = 1 / math.sqrt(n_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.conv2d(x, self.weight * self.gain)
        return upsample2x(x, self.resample_filter) * math.sqrt(0.5)
