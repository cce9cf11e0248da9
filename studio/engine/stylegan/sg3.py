"""Our own StyleGAN3 (alias-free, configs T and R) generator in plain torch: Fourier-feature
input with a pan/rotate transform, modulated convolutions and filtered leaky ReLUs (upsample,
activate, low-pass, downsample). The layer plan (sampling rates, cutoffs, sizes, padding) is
computed from the constructor arguments; the filters themselves come with the weights."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from studio.engine.stylegan.generator import Dense, Mapping
from studio.engine.stylegan.ops import fir


@dataclass(frozen=True)
class StyleGAN3Config:
    """NVlabs' StyleGAN3 Generator arguments (their defaults) that change the output."""

    z_dim: int
    w_dim: int
    img_resolution: int
    c_dim: int = 0
    img_channels: int = 3
    mapping_layers: int = 2
    lr_multiplier: float = 0.01
    channel_base: int = 32768
    channel_max: int = 512
    num_layers: int = 14
    num_critical: int = 2
    first_cutoff: float = 2.0
    first_stopband: float = 2**2.1
    last_stopband_rel: float = 2**0.3
    margin_size: int = 10
    output_scale: float = 0.25
    conv_kernel: int = 3
    filter_size: int = 6
    lrelu_upsampling: int = 2
    use_radial_filters: bool = False
    conv_clamp: float | None = 256.0
    generation: str = "stylegan3"

    @property
    def num_ws(self) -> int:
        return self.num_layers + 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_init_kwargs(cls, kwargs: dict[str, Any]) -> StyleGAN3Config:
        known = {k: v for k, v in kwargs.items() if k in cls.__dataclass_fields__}
        mapping = dict(kwargs.get("mapping_kwargs") or {})
        known["mapping_layers"] = int(mapping.get("num_layers", 2))
        known["lr_multiplier"] = float(mapping.get("lr_multiplier", 0.01))
        return cls(**known)


def layer_plan(cfg: StyleGAN3Config) -> list[dict[str, Any]]:
    """Per layer (input layer first): channels, size, sampling rate, cutoff, half-width."""
    last_cutoff = cfg.img_resolution / 2
    last_stopband = last_cutoff * cfg.last_stopband_rel
    ramp = np.minimum(np.arange(cfg.num_layers + 1) / (cfg.num_layers - cfg.num_critical), 1)
    cutoffs = cfg.first_cutoff * (last_cutoff / cfg.first_cutoff) ** ramp
    stopbands = cfg.first_stopband * (last_stopband / cfg.first_stopband) ** ramp
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, cfg.img_resolution))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + cfg.margin_size * 2
    sizes[-2:] = cfg.img_resolution
    channels = np.rint(np.minimum((cfg.channel_base / 2) / cutoffs, cfg.channel_max))
    channels[-1] = cfg.img_channels
    return [
        dict(channels=int(channels[i]), size=int(sizes[i]), rate=float(rates[i]),
             cutoff=float(cutoffs[i]), half_width=float(half_widths[i]))
        for i in range(cfg.num_layers + 1)
    ]  # fmt: skip


class FourierInput(nn.Module):
    """Sinusoids at fixed frequencies, rotated/translated by W (and the artist's transform)."""

    def __init__(self, cfg: StyleGAN3Config, first: dict[str, Any]) -> None:
        super().__init__()
        ch = first["channels"]
        self.size, self.rate, self.bandwidth = first["size"], first["rate"], first["cutoff"]
        self.weight = nn.Parameter(torch.zeros(ch, ch))
        self.affine = Dense(cfg.w_dim, 4)
        self.register_buffer("transform", torch.eye(3))
        self.register_buffer("freqs", torch.zeros(ch, 2))
        self.register_buffer("phases", torch.zeros(ch))

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        n = w.shape[0]
        t = self.affine(w)  # rotation (cos, sin) and translation (x, y), per sample
        t = t / t[:, :2].norm(dim=1, keepdim=True)
        rot = torch.eye(3, device=w.device).repeat(n, 1, 1)
        rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        shift = torch.eye(3, device=w.device).repeat(n, 1, 1)
        shift[:, 0, 2], shift[:, 1, 2] = -t[:, 2], -t[:, 3]
        m = rot @ shift @ self.transform[None]
        phases = self.phases[None] + (self.freqs[None] @ m[:, :2, 2:]).squeeze(2)
        freqs = self.freqs[None] @ m[:, :2, :2]
        amp = 1 - (freqs.norm(dim=2) - self.bandwidth) / (self.rate / 2 - self.bandwidth)
        theta = torch.eye(2, 3, device=w.device)
        theta[0, 0] = theta[1, 1] = 0.5 * self.size / self.rate
        grid = F.affine_grid(theta[None], [1, 1, self.size, self.size], align_corners=False)
        x = (grid.unsqueeze(3) @ freqs.permute(0, 2, 1)[:, None, None]).squeeze(3)
        x = torch.sin((x + phases[:, None, None]) * (2 * math.pi)) * amp.clamp(0, 1)[:, None, None]
        x = x @ (self.weight / math.sqrt(self.weight.shape[0])).t()
        return x.permute(0, 3, 1, 2)


def _filter(x: torch.Tensor, f: torch.Tensor | None, up: int = 1, pad=(0, 0, 0, 0), gain=1.0):
    """fir() for StyleGAN3's filters: a 1-D filter runs along x, then along y (separable)."""
    if f is None:
        return fir(x, torch.ones(1, 1, device=x.device), up=up, pad=pad, gain=gain)
    if f.ndim == 2:  # the radially symmetric downsampling filter of config R
        return fir(x, f, up=up, pad=pad, gain=gain)
    g = f * math.sqrt(gain)
    return fir(fir(x, g[None, :], up=up, pad=pad), g[:, None])


class Layer(nn.Module):
    """Modulated convolution, then bias + leaky ReLU at a higher sampling rate between a
    low-pass upsampling and a low-pass downsampling filter (the last layer is ToRGB)."""

    def __init__(self, cfg: StyleGAN3Config, prev: dict, cur: dict, torgb: bool, critical: bool):
        super().__init__()
        self.torgb, self.clamp = torgb, cfg.conv_clamp
        self.k = 1 if torgb else cfg.conv_kernel
        n_in, n_out = prev["channels"], cur["channels"]
        self.affine = Dense(cfg.w_dim, n_in)
        self.weight = nn.Parameter(torch.zeros(n_out, n_in, self.k, self.k))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.register_buffer("magnitude_ema", torch.ones([]))
        tmp_rate = max(prev["rate"], cur["rate"]) * (1 if torgb else cfg.lrelu_upsampling)
        self.up = int(round(tmp_rate / prev["rate"]))
        self.down = int(round(tmp_rate / cur["rate"]))
        up_taps = cfg.filter_size * self.up if self.up > 1 and not torgb else 1
        down_taps = cfg.filter_size * self.down if self.down > 1 and not torgb else 1
        radial = cfg.use_radial_filters and not critical
        self.register_buffer("up_filter", torch.zeros(up_taps) if up_taps > 1 else None)
        shape = (down_taps, down_taps) if radial else (down_taps,)
        self.register_buffer("down_filter", torch.zeros(shape) if down_taps > 1 else None)
        total = (cur["size"] - 1) * self.down + 1 - (prev["size"] + self.k - 1) * self.up
        total += up_taps + down_taps - 2
        lo = (total + self.up) // 2
        self.padding = (lo, total - lo, lo, total - lo)
        self.name = f"L{{}}_{cur['size']}_{n_out}"

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        styles = self.affine(w)
        weight = self.weight
        if self.torgb:
            styles = styles / math.sqrt(weight.shape[1] * self.k * self.k)
        else:
            weight = weight * weight.square().mean([1, 2, 3], keepdim=True).rsqrt()
            styles = styles * styles.square().mean().rsqrt()
        wk = weight[None] * styles[:, None, :, None, None]
        if not self.torgb:
            wk = wk * (wk.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()[:, :, None, None, None]
        wk = wk * self.magnitude_ema.rsqrt()
        x = x.reshape(1, -1, *x.shape[2:])
        x = F.conv2d(x, wk.reshape(-1, *weight.shape[1:]), padding=self.k - 1, groups=n)
        x = x.reshape(n, -1, *x.shape[2:]) + self.bias[None, :, None, None]
        x = _filter(x, self.up_filter, self.up, self.padding, gain=self.up**2)
        if self.torgb:
            x = x if self.clamp is None else x.clamp(-self.clamp, self.clamp)
        else:
            x = F.leaky_relu(x, 0.2) * math.sqrt(2)
            x = x if self.clamp is None else x.clamp(-self.clamp, self.clamp)
        return _filter(x, self.down_filter)[:, :, :: self.down, :: self.down]


class StyleGAN3(nn.Module):
    """Mapping + alias-free synthesis, parameters named as NVlabs names them."""

    def __init__(self, cfg: StyleGAN3Config) -> None:
        super().__init__()
        self.cfg = cfg
        plan = layer_plan(cfg)
        self.synthesis = nn.Module()
        self.synthesis.input = FourierInput(cfg, plan[0])
        self.layer_names = []
        for i in range(cfg.num_layers + 1):
            layer = Layer(cfg, plan[max(i - 1, 0)], plan[i], i == cfg.num_layers,
                          i >= cfg.num_layers - cfg.num_critical)  # fmt: skip
            name = layer.name.format(i)
            self.synthesis.add_module(name, layer)
            self.layer_names.append(name)
        shim = SimpleNamespace(z_dim=cfg.z_dim, c_dim=cfg.c_dim, w_dim=cfg.w_dim,
                               num_ws=cfg.num_ws, embed_features=cfg.w_dim,
                               layer_features=cfg.w_dim, mapping_layers=cfg.mapping_layers,
                               lr_multiplier=cfg.lr_multiplier)  # fmt: skip
        self.mapping = Mapping(shim)  # type: ignore[arg-type]

    def synthesize(self, ws: torch.Tensor, noise_mode: str = "const", gen=None) -> torch.Tensor:
        """W (Nxnum_wsxW) -> picture; StyleGAN3 has no noise inputs (noise_mode is ignored)."""
        w = ws.float().unbind(1)
        x = self.synthesis.input(w[0])
        for name, wi in zip(self.layer_names, w[1:], strict=False):
            x = getattr(self.synthesis, name)(x, wi)
        return x * self.cfg.output_scale

    def set_transform(self, translate: tuple[float, float] = (0.0, 0.0), rotate: float = 0.0):
        """Pan / rotate the picture (gen_images.py's --translate X,Y --rotate DEG)."""
        a = math.radians(rotate)
        m = np.array([[math.cos(a), math.sin(a), translate[0]],
                      [-math.sin(a), math.cos(a), translate[1]], [0, 0, 1]])  # fmt: skip
        self.synthesis.input.transform.copy_(torch.from_numpy(np.linalg.inv(m)))

    def forward(self, z, c=None, psi: float = 1.0, noise_mode: str = "const", gen=None):
        return self.synthesize(self.mapping(z, c, psi))
