"""A StyleGAN2 generator's architecture as plain data: what the JSON sidecar holds and what
NVlabs' constructor arguments (init_kwargs) or a state dict's shapes tell."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from studio.errors import ModelLoadError

ARCHITECTURES = ("skip", "orig", "resnet")


@dataclass(frozen=True)
class StyleGANConfig:
    """Everything needed to build the generator before its weights are loaded."""

    z_dim: int
    w_dim: int
    img_resolution: int
    c_dim: int = 0
    img_channels: int = 3
    mapping_layers: int = 8
    layer_features: int | None = None  # mapping width (None: w_dim)
    embed_features: int | None = None  # class embedding width (None: w_dim)
    lr_multiplier: float = 0.01  # the mapping network's weight scale
    channels: dict[int, int] = field(default_factory=dict)  # resolution -> feature maps
    architecture: str = "skip"
    conv_clamp: float | None = None
    generation: str = "stylegan2"

    def __post_init__(self) -> None:
        res = self.img_resolution
        if res < 4 or res & (res - 1):
            raise ModelLoadError(f"A StyleGAN2 resolution must be a power of two, not {res}.")
        if self.architecture not in ARCHITECTURES:
            raise ModelLoadError(f"Unknown StyleGAN2 architecture “{self.architecture}”.")
        channels = {int(k): int(v) for k, v in self.channels.items()}
        missing = [r for r in self.resolutions if r not in channels]
        if missing:
            raise ModelLoadError(f"The StyleGAN2 config has no channel count for {missing}.")
        object.__setattr__(self, "channels", channels)

    @property
    def resolutions(self) -> list[int]:
        return [2**i for i in range(2, int(math.log2(self.img_resolution)) + 1)]

    @property
    def num_ws(self) -> int:
        """How many W vectors the synthesis network takes (two per block, one at 4x4, +1)."""
        return 2 * len(self.resolutions)

    def to_json(self) -> str:
        return json.dumps({"format": "studio-stylegan", **asdict(self)}, indent=1)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StyleGANConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except TypeError as exc:
            raise ModelLoadError("The StyleGAN sidecar is incomplete.", str(exc)) from exc


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ModelLoadError(f"The generator's {name} is not a whole number: {value!r}.")
    return int(value)


def from_init_kwargs(kwargs: Mapping[str, Any]) -> StyleGANConfig:
    """The config an NVlabs StyleGAN2(-ADA) `Generator(**init_kwargs)` call describes,
    with NVlabs' defaults for what the call left out."""
    mapping = dict(kwargs.get("mapping_kwargs") or {})
    # stylegan2-ada-pytorch nests the synthesis arguments; the stylegan3 repository's
    # StyleGAN2 generator takes them flat
    synthesis = {**kwargs, **dict(kwargs.get("synthesis_kwargs") or {})}
    res = _int(kwargs.get("img_resolution"), "img_resolution")
    base = _int(synthesis.get("channel_base", 32768), "channel_base")
    top = _int(synthesis.get("channel_max", 512), "channel_max")
    levels = [2**i for i in range(2, max(2, int(math.log2(max(res, 1)))) + 1)]
    clamp = synthesis.get("conv_clamp")
    return StyleGANConfig(
        z_dim=_int(kwargs.get("z_dim"), "z_dim"),
        w_dim=_int(kwargs.get("w_dim"), "w_dim"),
        img_resolution=res,
        c_dim=_int(kwargs.get("c_dim", 0), "c_dim"),
        img_channels=_int(kwargs.get("img_channels", 3), "img_channels"),
        mapping_layers=_int(mapping.get("num_layers", 8), "num_layers"),
        layer_features=mapping.get("layer_features"),
        embed_features=mapping.get("embed_features"),
        lr_multiplier=float(mapping.get("lr_multiplier", 0.01)),
        channels={r: min(base // r, top) for r in levels},
        architecture=str(synthesis.get("architecture", "skip")),
        conv_clamp=None if clamp is None else float(clamp),
    )


def _numbers(keys: Any, pattern: str) -> list[int]:
    return sorted(int(m[1]) for k in keys if (m := re.fullmatch(pattern, k)))


def from_state_dict(
    shapes: Mapping[str, tuple[int, ...]], lr_multiplier: float = 0.01
) -> StyleGANConfig:
    """The config a state dict in our (NVlabs') key layout implies, from tensor shapes only."""
    try:
        blocks = _numbers(shapes, r"synthesis\.b(\d+)\.conv1\.weight")
        fcs = _numbers(shapes, r"mapping\.fc(\d+)\.weight")
        res = blocks[-1]
        last = fcs[-1]
        if any(f"synthesis.b{r}.skip.weight" in shapes for r in blocks):
            arch = "resnet"
        elif f"synthesis.b{blocks[0]}.torgb.weight" in shapes and len(blocks) > 1:
            arch = "skip"
        else:
            arch = "orig"
        embed = shapes.get("mapping.embed.weight")
        z_plus_embed = shapes["mapping.fc0.weight"][1]
        return StyleGANConfig(
            z_dim=z_plus_embed - (embed[0] if embed else 0),
            w_dim=shapes[f"mapping.fc{last}.weight"][0],
            img_resolution=res,
            c_dim=embed[1] if embed else 0,
            img_channels=shapes[f"synthesis.b{res}.torgb.weight"][0],
            mapping_layers=last + 1,
            layer_features=shapes["mapping.fc0.weight"][0] if last else None,
            embed_features=embed[0] if embed else None,
            lr_multiplier=lr_multiplier,
            channels={r: shapes[f"synthesis.b{r}.conv1.weight"][0] for r in blocks},
            architecture=arch,
        )
    except (KeyError, IndexError, TypeError) as exc:
        raise ModelLoadError("These weights are not a StyleGAN2 generator.", repr(exc)) from exc
