"""The StyleGAN2 synthesis network (W -> picture) and the whole generator (z -> picture)."""

from __future__ import annotations

import math

import torch
from torch import nn

from studio.engine.stylegan.config import StyleGANConfig
from studio.engine.stylegan.generator import Mapping, Skip, StyledConv, ToRGB
from studio.engine.stylegan.ops import fir_filter, upsample2x


class Block(nn.Module):
    """One resolution: (up 2x) two modulated convolutions, and its ToRGB contribution."""

    def __init__(self, cfg: StyleGANConfig, res: int) -> None:
        super().__init__()
        ch, clamp, w_dim = cfg.channels[res], cfg.conv_clamp, cfg.w_dim
        self.first, self.res, self.arch = res == 4, res, cfg.architecture
        self.register_buffer("resample_filter", fir_filter())
        if self.first:
            self.const = nn.Parameter(torch.zeros(ch, 4, 4))
        else:
            prev = cfg.channels[res // 2]
            self.conv0 = StyledConv(prev, ch, w_dim, res, True, clamp)
            if self.arch == "resnet":
                self.skip = Skip(prev, ch)
        self.conv1 = StyledConv(ch, ch, w_dim, res, False, clamp)
        self.has_rgb = self.arch == "skip" or res == cfg.img_resolution
        if self.has_rgb:
            self.torgb = ToRGB(ch, cfg.img_channels, w_dim, clamp)
        self.num_conv = 1 if self.first else 2

    def forward(self, x, img, ws, noise_mode, gen):
        """ws: Nx(num_conv+1)xW, the last one for ToRGB (shared with the next block)."""
        w = ws.unbind(1)
        if self.first:
            x = self.const.unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x, w[0], noise_mode, gen)
        elif self.arch == "resnet":
            y = self.skip(x)
            x = self.conv0(x, w[0], noise_mode, gen)
            x = y + self.conv1(x, w[1], noise_mode, gen, gain=math.sqrt(0.5))
        else:
            x = self.conv0(x, w[0], noise_mode, gen)
            x = self.conv1(x, w[1], noise_mode, gen)
        if img is not None:
            img = upsample2x(img, self.resample_filter)
        if self.has_rgb:
            y = self.torgb(x, w[self.num_conv])
            img = y if img is None else img + y
        return x, img


class Synthesis(nn.Module):
    """W (Nxnum_wsxW) -> NxCxHxW picture in about -1..1."""

    def __init__(self, cfg: StyleGANConfig) -> None:
        super().__init__()
        self.resolutions = cfg.resolutions
        for res in self.resolutions:
            self.add_module(f"b{res}", Block(cfg, res))

    def forward(self, ws, noise_mode: str = "const", gen: torch.Generator | None = None):
        x = img = None
        index = 0
        for res in self.resolutions:
            block = getattr(self, f"b{res}")
            x, img = block(x, img, ws.narrow(1, index, block.num_conv + 1), noise_mode, gen)
            index += block.num_conv
        return img


class StyleGAN2(nn.Module):
    """The whole generator: mapping + synthesis, named as NVlabs names them."""

    def __init__(self, cfg: StyleGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.synthesis = Synthesis(cfg)
        self.mapping = Mapping(cfg)

    def synthesize(self, ws, noise_mode: str = "const", gen=None):
        return self.synthesis(ws, noise_mode, gen)

    def forward(self, z, c=None, psi: float = 1.0, noise_mode: str = "const", gen=None):
        return self.synthesis(self.mapping(z, c, psi), noise_mode, gen)
