"""The generator's low-level operations in plain torch: FIR resampling, modulated convolution,
bias + activation. Written from the StyleGAN2 paper's definitions so that, for the same weights,
the numbers match NVIDIA's reference path (the slow, portable one) to float rounding."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)
FIR_TAPS = (1.0, 3.0, 3.0, 1.0)  # the binomial low-pass every resampling step uses


def fir_filter(taps: tuple[float, ...] = FIR_TAPS) -> torch.Tensor:
    """The 2-D resampling filter: the outer product of `taps`, summing to 1 (KxK float32)."""
    t = torch.tensor(taps, dtype=torch.float32)
    f = torch.outer(t, t)
    return f / f.sum()


def fir(
    x: torch.Tensor, f: torch.Tensor, up: int = 1, pad: tuple[int, int, int, int] = (0, 0, 0, 0),
    gain: float = 1.0,
) -> torch.Tensor:  # fmt: skip
    """Upsample by inserting zeros, pad (x0, x1, y0, y1; negative crops), then convolve each
    channel with `f` (a true convolution: the filter is flipped). x: NxCxHxW."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    x0, x1, y0, y1 = pad
    x = F.pad(x, [max(x0, 0), max(x1, 0), max(y0, 0), max(y1, 0)])
    x = x[:, :, max(-y0, 0) : x.shape[2] - max(-y1, 0), max(-x0, 0) : x.shape[3] - max(-x1, 0)]
    kernel = (f * gain).flip([0, 1]).to(x.dtype)
    kernel = kernel[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, kernel, groups=c)


def upsample2x(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """Twice the size through the FIR filter (the skip architecture's image path)."""
    k = f.shape[-1]
    return fir(x, f, up=2, pad=((k + 1) // 2, (k - 2) // 2) * 2, gain=4.0)


def conv_up2x(x: torch.Tensor, weight: torch.Tensor, f: torch.Tensor, groups: int) -> torch.Tensor:
    """A KxK convolution at twice the resolution: a stride-2 transposed convolution, then the
    FIR filter to remove the checkerboard (same alignment as the reference)."""
    out_ch, in_per_group, kh, kw = weight.shape
    w = weight.reshape(groups, out_ch // groups, in_per_group, kh, kw).transpose(1, 2)
    w = w.reshape(groups * in_per_group, out_ch // groups, kh, kw)
    x = F.conv_transpose2d(x, w, stride=2, groups=groups)
    k = f.shape[-1]
    p0 = kw // 2 + (k + 1) // 2 - (kw - 1)  # padding of the upsampled picture, then trimmed
    p1 = kw // 2 + (k - 2) // 2 - (kw - 2)
    return fir(x, f, pad=(p0, p1, p0, p1), gain=4.0)


def bias_act(
    x: torch.Tensor, bias: torch.Tensor | None, act: str = "linear", gain: float = 1.0,
    clamp: float | None = None,
) -> torch.Tensor:  # fmt: skip
    """Add the per-channel bias, apply the activation with its gain, clamp (x: NxCx…)."""
    if bias is not None:
        x = x + bias.reshape([1, -1] + [1] * (x.ndim - 2)).to(x.dtype)
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2) * (SQRT2 * gain)
    elif gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row to unit mean square (the mapping network's input normalisation)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def modulated_conv(
    x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
    up: bool = False, f: torch.Tensor | None = None,
) -> torch.Tensor:  # fmt: skip
    """Scale the kernel's input channels by each sample's style, renormalise its output
    channels (demodulation), and convolve each sample with its own kernel (grouped).
    x: NxIxHxW, weight: OxIxKxK, styles: NxI."""
    n = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    w = weight[None] * styles.reshape(n, 1, in_ch, 1, 1)  # NxOxIxKxK
    if demodulate:
        w = w * (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(n, out_ch, 1, 1, 1)
    x = x.reshape(1, n * in_ch, *x.shape[2:])
    w = w.reshape(n * out_ch, in_ch, kh, kw)
    x = conv_up2x(x, w, f, groups=n) if up else F.conv2d(x, w, padding=kw // 2, groups=n)
    return x.reshape(n, out_ch, *x.shape[2:])
