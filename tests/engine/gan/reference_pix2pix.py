"""junyanz/pytorch-CycleGAN-and-pix2pix generators (its networks.py), as a test reference."""

from __future__ import annotations

import torch
from torch import nn


def _norm(kind, c):
    if kind == "batch":
        return nn.BatchNorm2d(c, affine=True, track_running_stats=True)
    return nn.InstanceNorm2d(c, affine=False, track_running_stats=False)


class RefResnetBlock(nn.Module):
    def __init__(self, dim, norm, use_dropout, use_bias):
        super().__init__()
        seq = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), _norm(norm, dim)]
        seq += [nn.ReLU(True)]
        if use_dropout:
            seq += [nn.Dropout(0.5)]
        seq += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), _norm(norm, dim)]
        self.conv_block = nn.Sequential(*seq)

    def forward(self, x):
        return x + self.conv_block(x)


class RefResnetGenerator(nn.Module):
    def __init__(self, ngf=64, norm="instance", n_blocks=9, use_dropout=False):
        super().__init__()
        use_bias = norm == "instance"
        model = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, padding=0, bias=use_bias)]
        model += [_norm(norm, ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2**i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=use_bias)]
            model += [_norm(norm, ngf * mult * 2), nn.ReLU(True)]
        for _ in range(n_blocks):
            model += [RefResnetBlock(ngf * 4, norm, use_dropout, use_bias)]
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [
                nn.ConvTranspose2d(
                    ngf * mult, ngf * mult // 2, 3, 2, padding=1, output_padding=1, bias=use_bias
                )
            ]
            model += [_norm(norm, ngf * mult // 2), nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


class RefUnetBlock(nn.Module):
    def __init__(
        self,
        outer,
        inner,
        input_nc=None,
        sub=None,
        outermost=False,
        innermost=False,
        norm="batch",
        use_dropout=False,
    ):
        super().__init__()
        self.outermost = outermost
        use_bias = norm == "instance"
        input_nc = outer if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner, 4, stride=2, padding=1, bias=use_bias)
        downrelu, uprelu = nn.LeakyReLU(0.2, True), nn.ReLU(True)
        if outermost:
            upconv = nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1)
            model = [downconv, sub, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, uprelu, upconv, _norm(norm, outer)]
        else:
            upconv = nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1, bias=use_bias)
            model = [
                downrelu,
                downconv,
                _norm(norm, inner),
                sub,
                uprelu,
                upconv,
                _norm(norm, outer),
            ]
            if use_dropout:
                model += [nn.Dropout(0.5)]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class RefUnetGenerator(nn.Module):
    def __init__(self, num_downs=8, ngf=64, norm="batch", use_dropout=True):
        super().__init__()
        block = RefUnetBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = RefUnetBlock(ngf * 8, ngf * 8, sub=block, norm=norm, use_dropout=use_dropout)
        block = RefUnetBlock(ngf * 4, ngf * 8, sub=block, norm=norm)
        block = RefUnetBlock(ngf * 2, ngf * 4, sub=block, norm=norm)
        block = RefUnetBlock(ngf, ngf * 2, sub=block, norm=norm)
        self.model = RefUnetBlock(3, ngf, input_nc=3, sub=block, outermost=True, norm=norm)

    def forward(self, x):
        return self.model(x)


def randomize_norms(net: nn.Module, seed: int = 0) -> nn.Module:
    """Give BatchNorm layers non-trivial affine params and running stats."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(1 + 0.1 * torch.rand(m.running_var.shape, generator=g))
    return net
