"""pix2pix / CycleGAN generators (junyanz layout), with the architecture read from the weights."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from studio.engine.gan.weights import load_strict
from studio.errors import ModelLoadError

STALE = re.compile(r"\.(running_mean|running_var|num_batches_tracked)$")


@dataclass(frozen=True)
class ResnetArch:
    """ResnetGenerator options (resnet_6blocks / resnet_9blocks and relatives)."""

    input_nc: int = 3
    output_nc: int = 3
    ngf: int = 64
    norm: str = "instance"  # "instance" | "batch" | "none"
    affine: bool = False  # instance norm with learned scale/shift
    n_blocks: int = 9
    n_downsampling: int = 2
    use_dropout: bool = False

    kind = "resnet"


@dataclass(frozen=True)
class UnetArch:
    """UnetGenerator options: channels per level, outermost first."""

    input_nc: int = 3
    output_nc: int = 3
    levels: tuple[tuple[int, int], ...] = ()  # (outer_nc, inner_nc) per level, outermost first
    norm: str = "batch"
    affine: bool = True
    use_dropout: bool = True  # on the repeated inner levels (outer == inner), as unet_256

    kind = "unet"

    @property
    def multiple(self) -> int:
        return 2 ** len(self.levels)


def unet_256(ngf: int = 64, norm: str = "batch", use_dropout: bool = True) -> UnetArch:
    """The published pix2pix generator (num_downs = 8)."""
    chans = [ngf, ngf * 2, ngf * 4, ngf * 8, ngf * 8, ngf * 8, ngf * 8, ngf * 8]
    levels = ((3, chans[0]),) + tuple((chans[i], chans[i + 1]) for i in range(7))
    return UnetArch(3, 3, levels, norm, norm == "batch", use_dropout)


def normalize_keys(sd: dict[str, Any]) -> dict[str, Any]:
    """Common re-implementation variants -> junyanz names (`block` -> `conv_block`)."""
    out = {}
    for key, value in sd.items():
        out[re.sub(r"^(model\.\d+)\.block\.", r"\1.conv_block.", key)] = value
    return out


def _norm_of(sd: dict[str, Any], prefix: str, conv: str) -> tuple[str, bool]:
    """Norm type from the first norm layer's keys and whether the conv before it has a bias."""
    if f"{conv}.bias" in sd:  # junyanz: conv bias only with instance norm
        return "instance", f"{prefix}.weight" in sd
    if f"{prefix}.running_mean" in sd:
        return "batch", True
    return "none", False


def infer_arch(sd: dict[str, Any]) -> ResnetArch | UnetArch:
    """Recognise the generator family and its options from key names and shapes."""
    if "model.model.0.weight" in sd:
        return _infer_unet(sd)
    if "model.1.weight" in sd and sd["model.1.weight"].ndim == 4:
        return _infer_resnet(sd)
    raise ModelLoadError(
        "This file is not a pix2pix or CycleGAN generator this version knows.",
        "Expected ResnetGenerator keys (model.1.weight, model.N.conv_block.1.weight, …) or "
        "UnetGenerator keys (model.model.0.weight, model.model.1.model.1.weight, …); "
        f"found {sorted(sd)[:12]}",
    )


def _infer_resnet(sd: dict[str, Any]) -> ResnetArch:
    first = sd["model.1.weight"]
    blocks = sorted(
        {int(m.group(1)) for k in sd if (m := re.match(r"model\.(\d+)\.conv_block", k))}
    )
    if not blocks:
        raise ModelLoadError(
            "This ResNet generator has no residual blocks.",
            f"Expected model.N.conv_block.1.weight keys; found {sorted(sd)[:12]}",
        )
    n_down = (blocks[0] - 4) // 3
    norm, affine = _norm_of(sd, "model.2", "model.1")
    last = max(int(k.split(".")[1]) for k in sd if re.match(r"model\.\d+\.weight$", k))
    return ResnetArch(
        input_nc=int(first.shape[1]),
        output_nc=int(sd[f"model.{last}.weight"].shape[0]),
        ngf=int(first.shape[0]),
        norm=norm,
        affine=affine,
        n_blocks=len(blocks),
        n_downsampling=n_down,
        use_dropout=getattr(sd.get(f"model.{blocks[0]}.conv_block.6.weight"), "ndim", 0) == 4,
    )


def _infer_unet(sd: dict[str, Any]) -> UnetArch:
    down0 = sd["model.model.0.weight"]  # [ngf, input_nc, 4, 4]
    up0 = sd["model.model.3.weight"]  # [2 * ngf, output_nc, 4, 4]
    levels = [(int(up0.shape[1]), int(down0.shape[0]))]
    prefix = "model.model.1"
    norm, affine = _norm_of(sd, f"{prefix}.model.2", f"{prefix}.model.1")
    while f"{prefix}.model.1.weight" in sd:
        down = sd[f"{prefix}.model.1.weight"]
        levels.append((int(down.shape[1]), int(down.shape[0])))
        if not any(k.startswith(f"{prefix}.model.3.model.") for k in sd):
            break  # innermost level
        prefix += ".model.3"
    return UnetArch(int(down0.shape[1]), int(up0.shape[1]), tuple(levels), norm, affine)


def drop_stale_norm_keys(sd: dict[str, Any], arch: ResnetArch | UnetArch) -> dict[str, Any]:
    """Old (torch < 0.4) files carry InstanceNorm running stats no current layer has."""
    if arch.norm != "instance":
        return sd
    return {k: v for k, v in sd.items() if not STALE.search(k)}


@functools.cache
def _modules() -> SimpleNamespace:
    """The torch classes, defined on first use so that importing Studio never loads torch."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class BatchStatsNorm(nn.BatchNorm2d):
        """BatchNorm2d that (by default) normalises with the image's own statistics, as
        pix2pix's test.py does (train-mode BN, batch of one), without touching running stats."""

        batch_stats = True

        def forward(self, x):
            if not self.batch_stats:
                return super().forward(x)
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)

    class SeededDropout(nn.Module):
        """Dropout(0.5) drawing from a generator set per run: the pix2pix noise source."""

        def __init__(self, p: float = 0.5) -> None:
            super().__init__()
            self.p = p
            self.generator: torch.Generator | None = None  # None: off

        def forward(self, x):
            if self.generator is None:
                return x
            keep = torch.rand(x.shape, generator=self.generator).to(x.device) >= self.p
            return x * keep / (1 - self.p)

    def norm_layer(kind: str, channels: int, affine: bool) -> nn.Module:
        if kind == "batch":
            return BatchStatsNorm(channels)
        if kind == "instance":
            return nn.InstanceNorm2d(channels, affine=affine)
        return nn.Identity()

    class ResnetBlock(nn.Module):
        """x + (pad, conv, norm, relu, [dropout], pad, conv, norm)(x)."""

        def __init__(self, dim: int, a: ResnetArch) -> None:
            super().__init__()
            bias = a.norm == "instance"
            layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias)]
            layers += [norm_layer(a.norm, dim, a.affine), nn.ReLU(True)]
            layers += [SeededDropout()] if a.use_dropout else []
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias)]
            layers += [norm_layer(a.norm, dim, a.affine)]
            self.conv_block = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.conv_block(x)

    class ResnetGenerator(nn.Module):
        """c7s1-ngf, stride-2 downsampling, residual blocks, transposed-conv upsampling, c7s1."""

        def __init__(self, a: ResnetArch) -> None:
            super().__init__()
            self.arch = a
            bias = a.norm == "instance"
            layers = [nn.ReflectionPad2d(3), nn.Conv2d(a.input_nc, a.ngf, 7, bias=bias)]
            layers += [norm_layer(a.norm, a.ngf, a.affine), nn.ReLU(True)]
            for i in range(a.n_downsampling):
                c = a.ngf * 2**i
                layers += [nn.Conv2d(c, c * 2, 3, stride=2, padding=1, bias=bias)]
                layers += [norm_layer(a.norm, c * 2, a.affine), nn.ReLU(True)]
            dim = a.ngf * 2**a.n_downsampling
            layers += [ResnetBlock(dim, a) for _ in range(a.n_blocks)]
            for i in range(a.n_downsampling):
                c = a.ngf * 2 ** (a.n_downsampling - i)
                layers += [
                    nn.ConvTranspose2d(c, c // 2, 3, 2, padding=1, output_padding=1, bias=bias)
                ]
                layers += [norm_layer(a.norm, c // 2, a.affine), nn.ReLU(True)]
            layers += [nn.ReflectionPad2d(3), nn.Conv2d(a.ngf, a.output_nc, 7), nn.Tanh()]
            self.model = nn.Sequential(*layers)

        def forward(self, x):
            return self.model(x)

    class UnetBlock(nn.Module):
        """One U-Net level: down, submodule, up; non-outermost levels concatenate the skip."""

        def __init__(self, a: UnetArch, level: int) -> None:
            super().__init__()
            outer, inner = a.levels[level]
            bias = a.norm == "instance"
            self.outermost = level == 0
            innermost = level == len(a.levels) - 1
            in_nc = a.input_nc if self.outermost else outer
            down = nn.Conv2d(in_nc, inner, 4, stride=2, padding=1, bias=bias)
            up_in = inner if innermost else inner * 2
            up = nn.ConvTranspose2d(up_in, outer, 4, 2, 1, bias=bias or self.outermost)
            if self.outermost:
                layers = [down, UnetBlock(a, level + 1), nn.ReLU(True), up, nn.Tanh()]
            elif innermost:
                layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up]
                layers += [norm_layer(a.norm, outer, a.affine)]
            else:
                layers = [nn.LeakyReLU(0.2, True), down, norm_layer(a.norm, inner, a.affine)]
                layers += [UnetBlock(a, level + 1), nn.ReLU(True), up]
                layers += [norm_layer(a.norm, outer, a.affine)]
                layers += [SeededDropout()] if a.use_dropout and outer == inner else []
            self.model = nn.Sequential(*layers)

        def forward(self, x):
            if self.outermost:
                return self.model(x)
            return torch.cat([x, self.model(x)], 1)

    class UnetGenerator(nn.Module):
        """The recursive U-Net; keys nest as model.model.1.model.3.… like the original."""

        def __init__(self, a: UnetArch) -> None:
            super().__init__()
            self.arch = a
            self.model = UnetBlock(a, 0)

        def forward(self, x):
            return self.model(x)

    return SimpleNamespace(
        Resnet=ResnetGenerator,
        Unet=UnetGenerator,
        Dropout=SeededDropout,
        BatchStatsNorm=BatchStatsNorm,
    )


def build_generator(arch: ResnetArch | UnetArch):
    """A randomly initialised generator of this architecture (eval mode)."""
    cls = _modules().Resnet if isinstance(arch, ResnetArch) else _modules().Unet
    return cls(arch).eval()


def load_generator(sd: dict[str, Any]):
    """Normalise keys, infer the architecture, drop stale norm keys, load strictly."""
    sd = normalize_keys(sd)
    try:
        arch = infer_arch(sd)
    except (KeyError, IndexError) as exc:  # a layout that half matches: name what is missing
        raise ModelLoadError(
            "This file's layout is incomplete or unusual; its architecture cannot be read.",
            f"missing or malformed: {exc}; found keys {sorted(sd)[:12]}",
        ) from exc
    sd = drop_stale_norm_keys(sd, arch)
    kind = "ResNet generator" if arch.kind == "resnet" else "U-Net generator"
    cls = _modules().Resnet if isinstance(arch, ResnetArch) else _modules().Unet
    return load_strict(lambda: cls(arch), sd, f"{kind} inferred from it ({_summary(arch)})")


def _summary(arch: ResnetArch | UnetArch) -> str:
    if isinstance(arch, ResnetArch):
        return f"{arch.n_blocks} blocks, ngf {arch.ngf}, {arch.norm} norm"
    return f"{len(arch.levels)} levels, {arch.norm} norm"


def set_noise(net, seed: int | None) -> int:
    """Turn the dropout layers on with this seed (None: off); returns how many there are."""
    import torch

    layers = [m for m in net.modules() if isinstance(m, _modules().Dropout)]
    generator = torch.Generator("cpu").manual_seed(seed) if seed is not None else None
    for layer in layers:
        layer.generator = generator
    return len(layers)
