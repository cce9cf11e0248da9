"""A straightforward SPADE generator written from the published equations (test reference only).

Mirrors NVlabs/SPADE's module tree and state-dict names (its generator.py, architecture.py and
normalization.py): legacy
torch.nn.utils.spectral_norm on every residual-block conv, BatchNorm2d(affine=False) as the
parameter-free norm, nearest resizing, hidden width 128 by default.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

DOWN = {"normal": 5, "more": 6, "most": 7}


class RefSPADE(nn.Module):
    def __init__(self, norm_nc, label_nc, hidden=128):
        super().__init__()
        self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, hidden, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, norm_nc, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, norm_nc, 3, padding=1)

    def forward(self, x, segmap):
        # out = BN(x) * (1 + gamma(seg)) + beta(seg), seg resized to x by nearest neighbour
        segmap = F.interpolate(segmap, size=x.size()[2:], mode="nearest")
        actv = self.mlp_shared(segmap)
        return self.param_free_norm(x) * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class RefBlock(nn.Module):
    def __init__(self, fin, fout, label_nc, hidden=128):
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        self.conv_0 = spectral_norm(nn.Conv2d(fin, fmiddle, kernel_size=3, padding=1))
        self.conv_1 = spectral_norm(nn.Conv2d(fmiddle, fout, kernel_size=3, padding=1))
        if self.learned_shortcut:
            self.conv_s = spectral_norm(nn.Conv2d(fin, fout, kernel_size=1, bias=False))
        self.norm_0 = RefSPADE(fin, label_nc, hidden)
        self.norm_1 = RefSPADE(fmiddle, label_nc, hidden)
        if self.learned_shortcut:
            self.norm_s = RefSPADE(fin, label_nc, hidden)

    def forward(self, x, seg):
        x_s = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 2e-1))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 2e-1))
        return x_s + dx


class RefGenerator(nn.Module):
    def __init__(self, semantic_nc, ngf=64, up="normal", hidden=128, crop=256, aspect=1.0, z_dim=0):
        super().__init__()
        nf = ngf
        self.up_mode = up
        self.nf = nf
        self.sw = crop // 2 ** DOWN[up]
        self.sh = round(self.sw / aspect)
        if z_dim:  # use_vae: the first feature map comes from z
            self.fc = nn.Linear(z_dim, 16 * nf * self.sw * self.sh)
        else:
            self.fc = nn.Conv2d(semantic_nc, 16 * nf, 3, padding=1)
        self.z_dim = z_dim
        self.head_0 = RefBlock(16 * nf, 16 * nf, semantic_nc, hidden)
        self.G_middle_0 = RefBlock(16 * nf, 16 * nf, semantic_nc, hidden)
        self.G_middle_1 = RefBlock(16 * nf, 16 * nf, semantic_nc, hidden)
        self.up_0 = RefBlock(16 * nf, 8 * nf, semantic_nc, hidden)
        self.up_1 = RefBlock(8 * nf, 4 * nf, semantic_nc, hidden)
        self.up_2 = RefBlock(4 * nf, 2 * nf, semantic_nc, hidden)
        self.up_3 = RefBlock(2 * nf, 1 * nf, semantic_nc, hidden)
        final_nc = nf
        if up == "most":
            self.up_4 = RefBlock(1 * nf, nf // 2, semantic_nc, hidden)
            final_nc = nf // 2
        self.conv_img = nn.Conv2d(final_nc, 3, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2)

    def forward(self, seg, z=None):
        if self.z_dim:
            x = self.fc(z).view(-1, 16 * self.nf, self.sh, self.sw)
        else:
            x = self.fc(F.interpolate(seg, size=(self.sh, self.sw)))
        x = self.head_0(x, seg)
        x = self.up(x)
        x = self.G_middle_0(x, seg)
        if self.up_mode in ("more", "most"):
            x = self.up(x)
        x = self.G_middle_1(x, seg)
        x = self.up(x)
        x = self.up_0(x, seg)
        x = self.up(x)
        x = self.up_1(x, seg)
        x = self.up(x)
        x = self.up_2(x, seg)
        x = self.up(x)
        x = self.up_3(x, seg)
        if self.up_mode == "most":
            x = self.up(x)
            x = self.up_4(x, seg)
        x = self.conv_img(F.leaky_relu(x, 2e-1))
        return torch.tanh(x)


class RefConvEncoder(nn.Module):
    """SPADE's netE: 6 stride-2 convs (SN, bias removed) + InstanceNorm, then mu and logvar."""

    def __init__(self, ndf=64, z_dim=256):
        super().__init__()

        def norm_layer(conv):
            conv = spectral_norm(conv)
            delattr(conv, "bias")
            conv.register_parameter("bias", None)
            return nn.Sequential(conv, nn.InstanceNorm2d(conv.out_channels, affine=False))

        widths = [3, ndf, ndf * 2, ndf * 4, ndf * 8, ndf * 8, ndf * 8]
        for i in range(6):
            conv = nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1)
            setattr(self, f"layer{i + 1}", norm_layer(conv))
        self.fc_mu = nn.Linear(ndf * 8 * 4 * 4, z_dim)
        self.fc_var = nn.Linear(ndf * 8 * 4 * 4, z_dim)
        self.actvn = nn.LeakyReLU(0.2, False)

    def forward(self, x):
        if x.size(2) != 256 or x.size(3) != 256:
            x = F.interpolate(x, size=(256, 256), mode="bilinear")
        x = self.layer1(x)
        for i in range(2, 7):
            x = getattr(self, f"layer{i}")(self.actvn(x))
        x = self.actvn(x).view(x.size(0), -1)
        return self.fc_mu(x), self.fc_var(x)


def trained_looking(net: RefGenerator, semantic_nc: int, h: int, w: int, seed: int = 0):
    """Run a few train-mode forwards so BN running stats and SN u/v are not their initial values."""
    g = torch.Generator().manual_seed(seed)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            z = torch.randn(2, net.z_dim, generator=g) if getattr(net, "z_dim", 0) else None
            net(torch.rand(2, semantic_nc, h, w, generator=g), z)
    return net.eval()


def random_onehot(semantic_nc: int, h: int, w: int, seed: int = 0, blocks: int = 8):
    """A blocky one-hot label map [1, nc, h, w] (regions, as painted)."""
    g = torch.Generator().manual_seed(seed)
    small = torch.randint(0, semantic_nc, (1, 1, blocks, blocks), generator=g).float()
    ids = F.interpolate(small, size=(h, w), mode="nearest").long()
    return torch.zeros(1, semantic_nc, h, w).scatter_(1, ids, 1.0)
