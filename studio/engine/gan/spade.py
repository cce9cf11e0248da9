"""SPADE (GauGAN) generator in the NVlabs layout; spectral norm folded at load, BatchNorm eval."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from studio.engine.gan.weights import load_strict
from studio.errors import ModelLoadError

UPSAMPLING = {"normal": 5, "more": 6, "most": 7}  # total x2 upsamplings (downscale exponent)
FIXED_BLOCKS = ("head_0", "G_middle_0", "G_middle_1")
# NVlabs/SPADE's released checkpoints, told apart by their input channels: label_nc, plus one
# for the dontcare class, plus one for the instance-edge map (COCO-Stuff 182+1+1, ADE20K 150+1).
OFFICIAL = {
    184: dict(label_set="cocostuff", label_nc=182, dontcare=True, instance=True, up="normal"),
    151: dict(label_set="ade20k", label_nc=150, dontcare=True, instance=False, up="normal"),
    36: dict(label_set="cityscapes", label_nc=35, dontcare=False, instance=True, up="more"),
}


@dataclass(frozen=True)
class SpadeArch:
    """Everything needed to build a generator: widths per block, input channels, upsampling."""

    semantic_nc: int  # one-hot labels (+ dontcare) (+ instance edge)
    blocks: tuple[tuple[str, int, int, int], ...]  # (name, fin, fmiddle, fout), in order
    hidden: int = 128  # SPADE mlp_shared width
    num_upsampling_layers: str = "normal"
    z_dim: int = 0  # > 0: fc is Linear(z_dim, ...) (VAE-trained); 0: fc is a 3x3 conv on seg
    z_grid: tuple[int, int] = (0, 0)  # (sh, sw) of the VAE generator's first feature map
    output_nc: int = 3

    @property
    def multiple(self) -> int:
        """Input height and width must be multiples of this."""
        return 2 ** UPSAMPLING[self.num_upsampling_layers]

    @property
    def fc_out(self) -> int:
        return self.blocks[0][1]


def official_arch(semantic_nc: int, ngf: int = 64, up: str = "normal", hidden: int = 128):
    """The NVlabs generator's architecture for a given input width (ngf=64 in the releases)."""
    widths = [16 * ngf, 16 * ngf, 16 * ngf, 16 * ngf, 8 * ngf, 4 * ngf, 2 * ngf, ngf]
    if up == "most":
        widths.append(ngf // 2)
    return custom_arch(semantic_nc, widths, hidden, up)


# The starter SPADE: narrow from the 8x8 head (at 256²) down to the full-size last block, so the
# live draft runs at >= 15 frames/s at 256² on 2 CPU cores (benchmarks/spade_fps.py).
STARTER_WIDTHS = (128, 128, 128, 96, 64, 32, 8, 8)  # the last two blocks: no 256² shortcut
STARTER_HIDDEN = 16


def starter_arch(semantic_nc: int = 25) -> SpadeArch:
    """The starter SPADE's architecture (same layout and keys as NVlabs, custom widths)."""
    return custom_arch(semantic_nc, STARTER_WIDTHS, STARTER_HIDDEN, "normal")


def custom_arch(
    semantic_nc: int, widths: Sequence[int], hidden: int = 128, up: str = "normal"
) -> SpadeArch:
    """A generator with chosen widths: widths[0] is fc's output, widths[i + 1] block i's output
    (blocks head_0, G_middle_0, G_middle_1, up_0…; 8 widths for normal/more, 9 for most)."""
    if up not in UPSAMPLING:
        raise ValueError(f"Unknown num_upsampling_layers {up!r}; use normal, more or most.")
    need = 9 if up == "most" else 8
    if len(widths) != need or min(widths) < 1 or hidden < 1:
        raise ValueError(f"{up} upsampling needs {need} positive widths, got {list(widths)}.")
    widths = [int(w) for w in widths]
    names = list(FIXED_BLOCKS) + [f"up_{i}" for i in range(len(widths) - 4)]
    blocks = tuple(
        (name, widths[i], min(widths[i], widths[i + 1]), widths[i + 1])
        for i, name in enumerate(names)
    )
    return SpadeArch(semantic_nc, blocks, hidden, up)


def fold_spectral_norm(sd: dict[str, Any]) -> dict[str, Any]:
    """Replace weight_orig/u/v (legacy or parametrization keys) by the eval-mode weight."""
    out: dict[str, Any] = {}
    legacy = re.compile(r"^(.*?)\.?weight_orig$")
    param = re.compile(r"^(.*?)\.?parametrizations\.weight\.original$")
    done: set[str] = set()
    for key in sd:
        for pattern, u_key, v_key in (
            (legacy, "{}weight_u", "{}weight_v"),
            (param, "{}parametrizations.weight.0._u", "{}parametrizations.weight.0._v"),
        ):
            m = pattern.match(key)
            if not m:
                continue
            base = m.group(1) + "." if m.group(1) else ""
            u, v = u_key.format(base), v_key.format(base)
            if u not in sd or v not in sd:
                raise ModelLoadError(
                    f"The spectral-norm weights {key} are incomplete ({u} or {v} is missing)."
                )
            out[base + "weight"] = _sn_weight(sd[key], sd[u], sd[v])
            done.update({key, u, v})
    for key, value in sd.items():
        if key not in done:
            out[key] = value
    return out


def _sn_weight(w_orig, u, v):
    """W / sigma with sigma = u . (W_mat v): what spectral_norm computes in eval (no iteration)."""
    import torch

    w_mat = w_orig.reshape(w_orig.shape[0], -1)
    sigma = torch.dot(u, torch.mv(w_mat, v))
    return w_orig / sigma


def infer_arch(
    sd: dict[str, Any], up: str | None = None, z_grid: tuple[int, int] | None = None
) -> SpadeArch:
    """Read the architecture from a (folded) state dict; `up` comes from the sidecar if known."""
    if "fc.weight" not in sd or "conv_img.weight" not in sd:
        raise ModelLoadError(
            "This file is not a SPADE generator.",
            f"Expected fc.weight and conv_img.weight; found keys {list(sd)[:10]}",
        )
    names = list(FIXED_BLOCKS)
    i = 0
    while f"up_{i}.conv_0.weight" in sd:
        names.append(f"up_{i}")
        i += 1
    blocks = []
    for name in names:
        if f"{name}.conv_0.weight" not in sd:
            raise ModelLoadError(f"This SPADE file has no {name} block ({name}.conv_0.weight).")
        c0, c1 = sd[f"{name}.conv_0.weight"].shape, sd[f"{name}.conv_1.weight"].shape
        blocks.append((name, int(c0[1]), int(c0[0]), int(c1[0])))
    fc = sd["fc.weight"]
    z_dim = int(fc.shape[1]) if fc.ndim == 2 else 0
    semantic_nc = int(sd["head_0.norm_0.mlp_shared.0.weight"].shape[1])
    hidden = int(sd["head_0.norm_0.mlp_shared.0.weight"].shape[0])
    if up is None:
        up = "most" if len(names) == 8 else OFFICIAL.get(semantic_nc, {}).get("up", "normal")
    if up not in UPSAMPLING:
        raise ModelLoadError(f"Unknown num_upsampling_layers {up!r}; use normal, more or most.")
    grid = (0, 0)
    if z_dim:
        cells = int(fc.shape[0]) // blocks[0][1]
        side = round(cells**0.5)
        grid = tuple(z_grid) if z_grid else (side, side)
        if grid[0] * grid[1] != cells:
            raise ModelLoadError(
                f"This VAE-trained SPADE starts from {cells} cells; give its z_grid [sh, sw] "
                "in the sidecar JSON."
            )
    return SpadeArch(
        semantic_nc, tuple(blocks), hidden, up, z_dim, grid, int(sd["conv_img.weight"].shape[0])
    )


@functools.cache
def _modules() -> SimpleNamespace:
    """The torch classes, defined on first use so that importing Studio never loads torch."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class SPADE(nn.Module):
        """Batch norm without affine, then a per-pixel scale and shift predicted from the labels."""

        def __init__(self, norm_nc: int, label_nc: int, hidden: int) -> None:
            super().__init__()
            self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
            self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, hidden, 3, padding=1), nn.ReLU())
            self.mlp_gamma = nn.Conv2d(hidden, norm_nc, 3, padding=1)
            self.mlp_beta = nn.Conv2d(hidden, norm_nc, 3, padding=1)

        def forward(self, x, seg):
            normalized = self.param_free_norm(x)
            if seg.shape[2:] != x.shape[2:]:  # the generator passes it at x's size already
                seg = F.interpolate(seg, size=x.shape[2:], mode="nearest")
            actv = self.mlp_shared(seg)
            return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)

    class SPADEResnetBlock(nn.Module):
        """Two SPADE-norm-act-conv stages with a (learned when widths differ) shortcut."""

        def __init__(self, fin: int, fmid: int, fout: int, label_nc: int, hidden: int) -> None:
            super().__init__()
            self.learned_shortcut = fin != fout
            self.conv_0 = nn.Conv2d(fin, fmid, 3, padding=1)
            self.conv_1 = nn.Conv2d(fmid, fout, 3, padding=1)
            if self.learned_shortcut:
                self.conv_s = nn.Conv2d(fin, fout, 1, bias=False)
            self.norm_0 = SPADE(fin, label_nc, hidden)
            self.norm_1 = SPADE(fmid, label_nc, hidden)
            if self.learned_shortcut:
                self.norm_s = SPADE(fin, label_nc, hidden)

        def forward(self, x, seg):
            shortcut = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
            dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 0.2))
            dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2))
            return shortcut + dx

    class SPADEGenerator(nn.Module):
        """fc on the downsampled labels (or on z), SPADE blocks with x2 nearest upsampling, tanh."""

        def __init__(self, arch: SpadeArch) -> None:
            super().__init__()
            self.arch = arch
            nc, hid = arch.semantic_nc, arch.hidden
            if arch.z_dim:
                sh, sw = arch.z_grid
                self.fc = nn.Linear(arch.z_dim, arch.fc_out * sh * sw)
            else:
                self.fc = nn.Conv2d(nc, arch.fc_out, 3, padding=1)
            for name, fin, fmid, fout in arch.blocks:
                self.add_module(name, SPADEResnetBlock(fin, fmid, fout, nc, hid))
            self.conv_img = nn.Conv2d(arch.blocks[-1][3], arch.output_nc, 3, padding=1)

        def forward(self, seg, z=None):
            a = self.arch
            n = UPSAMPLING[a.num_upsampling_layers]
            sh, sw = seg.shape[2] // 2**n, seg.shape[3] // 2**n
            if a.z_dim:
                x = self.fc(z).view(-1, a.fc_out, a.z_grid[0], a.z_grid[1])
            else:
                x = self.fc(F.interpolate(seg, size=(sh, sw), mode="nearest"))
            resized: dict = {}  # (h, w) -> seg resized once (nearest), shared by a block's norms

            def seg_at(x):
                size = tuple(x.shape[2:])
                if size not in resized:
                    same = size == tuple(seg.shape[2:])
                    resized[size] = seg if same else F.interpolate(seg, size=size, mode="nearest")
                return resized[size]

            x = self.head_0(x, seg_at(x))
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = self.G_middle_0(x, seg_at(x))
            if a.num_upsampling_layers in ("more", "most"):
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = self.G_middle_1(x, seg_at(x))
            for name, *_ in a.blocks[3:]:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
                x = getattr(self, name)(x, seg_at(x))
            x = self.conv_img(F.leaky_relu(x, 0.2))
            return torch.tanh(x)

    return SimpleNamespace(SPADE=SPADE, SPADEResnetBlock=SPADEResnetBlock, Generator=SPADEGenerator)


def build_generator(arch: SpadeArch):
    """A randomly initialised generator of this architecture (eval mode)."""
    return _modules().Generator(arch).eval()


def load_generator(
    sd: dict[str, Any], up: str | None = None, z_grid: tuple[int, int] | None = None
):
    """Fold spectral norm, infer the architecture and load strictly; returns the eval module."""
    folded = fold_spectral_norm(sd)
    try:
        arch = infer_arch(folded, up, z_grid)
    except (KeyError, IndexError) as exc:  # a layout that half matches: name what is missing
        raise ModelLoadError(
            "This file's layout is incomplete or unusual; its architecture cannot be read.",
            f"missing or malformed: {exc}; found keys {sorted(sd)[:12]}",
        ) from exc
    return load_strict(lambda: _modules().Generator(arch), folded, "SPADE generator")
