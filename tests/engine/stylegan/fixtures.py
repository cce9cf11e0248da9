"""Test-made StyleGAN2 files in every layout Studio reads, built with our own code only: an
NVlabs-style network pickle (same global names and structure as NVlabs' persistence writes,
with embedded "source" that would leave a sentinel file if anything ran it), rosinality .pt
files and plain state dicts."""

from __future__ import annotations

import contextlib
import pickle
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import torch

from studio.engine.stylegan.config import StyleGANConfig
from studio.engine.stylegan.synthesis import StyleGAN2

TINY = StyleGANConfig(
    z_dim=8, w_dim=8, img_resolution=16, c_dim=0, mapping_layers=2,
    channels={4: 8, 8: 8, 16: 4},
)  # fmt: skip
TINY_KWARGS = dict(
    z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3,
    mapping_kwargs={"num_layers": 2}, synthesis_kwargs={"channel_base": 64, "channel_max": 8},
)  # fmt: skip


SG3_KWARGS = dict(
    z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3,
    mapping_kwargs={"num_layers": 2}, channel_base=64, channel_max=8, num_layers=4,
    num_critical=1, margin_size=4, magnitude_ema_beta=0.999,
)  # fmt: skip


def _empty(cfg: Any) -> torch.nn.Module:
    from studio.engine.stylegan.sg3 import StyleGAN3

    kind = StyleGAN2 if isinstance(cfg, StyleGANConfig) else StyleGAN3
    return kind(cfg).eval().requires_grad_(False)


def random_generator(cfg: Any = TINY, seed: int = 0) -> torch.nn.Module:
    """Our generator with every weight random (mapping weights undo the 0.01 learning rate;
    StyleGAN3 filters are random too: the test compares us with ourselves)."""

    torch.manual_seed(seed)
    net = _empty(cfg)
    for key, p in [*net.named_parameters(), *net.named_buffers()]:
        if key.endswith("magnitude_ema"):
            p.fill_(0.8)
        elif not key.endswith(("resample_filter", "transform")):
            big = key.startswith("mapping.fc") and key.endswith("weight")
            p.copy_(torch.randn_like(p) * (100.0 if big else 0.5))
    return net


class _Stored:
    """One node of the fake NVlabs tree: what the persistence decorator's reducer returns."""

    def __init__(self, module: torch.nn.Module, source: str, kwargs: dict | None) -> None:
        state = {"training": False, "weight_gain": np.float64(0.25)}  # numpy scalars, as theirs
        state["_parameters"] = dict(module._parameters)
        state["_buffers"] = dict(module._buffers)
        state["_non_persistent_buffers_set"] = set()
        state["_modules"] = {
            name: _Stored(child, source, None) for name, child in module._modules.items()
        }
        state["_init_args"], state["_init_kwargs"] = (), _EasyDict(kwargs or {})
        self.meta = {"type": "class", "version": 4, "module_src": source,
                     "class_name": type(module).__name__ if kwargs is None else "Generator",
                     "state": state}  # fmt: skip

    def __reduce__(self):
        return (_reconstruct_persistent_obj, (self.meta,))


class _EasyDict(dict):
    pass


def _reconstruct_persistent_obj(meta):  # never called: only its name goes into the file
    raise AssertionError("the fixture's reconstruct function must not run")


@contextlib.contextmanager
def _nvlabs_names():
    """Let pickle write the global names NVlabs' pickles carry, only while dumping."""
    persistence = types.ModuleType("torch_utils.persistence")
    util = types.ModuleType("dnnlib.util")
    _reconstruct_persistent_obj.__module__ = persistence.__name__
    _EasyDict.__module__, _EasyDict.__qualname__ = util.__name__, "EasyDict"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    util.EasyDict = _EasyDict
    fake = {"torch_utils": types.ModuleType("torch_utils"), persistence.__name__: persistence,
            "dnnlib": types.ModuleType("dnnlib"), util.__name__: util}  # fmt: skip
    sys.modules.update(fake)
    try:
        yield
    finally:
        for name in fake:
            sys.modules.pop(name, None)


def write_nvlabs_pickle(path: Path, net: torch.nn.Module, kwargs: dict, sentinel: Path) -> Path:
    """A pickle shaped like NVlabs' network pickles ({"G", "D", "G_ema", "training_set_kwargs"})."""
    source = f"open({str(sentinel)!r}, 'w').write('the embedded source ran')\n"
    stored = _Stored(net, source, kwargs)
    with _nvlabs_names():
        data = {"G": stored, "G_ema": stored, "D": None,
                "training_set_kwargs": _EasyDict(resolution=16)}  # fmt: skip
        path.write_bytes(pickle.dumps(data, protocol=4))
    return path


def to_rosinality(sd: dict[str, torch.Tensor], cfg: StyleGANConfig) -> dict[str, torch.Tensor]:
    """Our (NVlabs') keys -> rosinality/stylegan2-pytorch's layout and shapes."""
    out: dict[str, torch.Tensor] = {}
    for i in range(cfg.mapping_layers):
        out[f"style.{i + 1}.weight"] = sd[f"mapping.fc{i}.weight"]
        out[f"style.{i + 1}.bias"] = sd[f"mapping.fc{i}.bias"]
    out["input.input"] = sd["synthesis.b4.const"][None]

    def layer(dst: str, src: str, noise: int | None) -> None:
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"][None]
        out[f"{dst}.conv.modulation.weight"] = sd[f"{src}.affine.weight"]
        out[f"{dst}.conv.modulation.bias"] = sd[f"{src}.affine.bias"]
        if noise is None:  # ToRGB
            out[f"{dst}.bias"] = sd[f"{src}.bias"].reshape(1, -1, 1, 1)
            return
        out[f"{dst}.noise.weight"] = sd[f"{src}.noise_strength"].reshape(1)
        out[f"{dst}.activate.bias"] = sd[f"{src}.bias"]
        out[f"noises.noise_{noise}"] = sd[f"{src}.noise_const"][None, None]

    layer("conv1", "synthesis.b4.conv1", 0)
    layer("to_rgb1", "synthesis.b4.torgb", None)
    for j, res in enumerate(cfg.resolutions[1:]):
        layer(f"convs.{2 * j}", f"synthesis.b{res}.conv0", 2 * j + 1)
        layer(f"convs.{2 * j + 1}", f"synthesis.b{res}.conv1", 2 * j + 2)
        layer(f"to_rgbs.{j}", f"synthesis.b{res}.torgb", None)
        out[f"convs.{2 * j}.conv.blur.kernel"] = torch.ones(4, 4)  # theirs; ours is computed
    return out
