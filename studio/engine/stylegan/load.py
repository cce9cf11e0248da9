"""Every StyleGAN2 file layout Studio reads, brought to one (config, state dict) pair in
NVlabs' key names: NVlabs .pkl (restricted unpickler), rosinality .pt ({"g_ema", "latent_avg"},
read weights-only), plain state dicts, and our .safetensors + JSON sidecar (`convert` writes)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from studio.engine.models.checkpoints import PICKLE_SUFFIXES, load_safetensors, read_pickle
from studio.engine.stylegan.config import StyleGANConfig, from_init_kwargs, from_state_dict
from studio.engine.stylegan.unpickle import read_network_pickle
from studio.errors import ModelLoadError

SIDECAR_FORMAT = "studio-stylegan"


def sidecar_path(path: Path) -> Path:
    return Path(path).with_suffix(".json")


def _floats(sd: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.detach().float().contiguous() for k, v in sd.items()}


def from_nvlabs_pickle(path: Path) -> tuple[StyleGANConfig, dict[str, Any]]:
    """G_ema (else G) of an NVlabs pickle, without running the code the pickle carries."""
    found = read_network_pickle(path)
    net = found.networks.get("G_ema") or found.networks.get("G")
    if net is None:
        keys = ", ".join(found.networks) or "none"
        raise ModelLoadError(f"{Path(path).name} holds no generator (networks: {keys}).")
    synthesis = (net.state.get("_modules") or {}).get("synthesis")
    parts = set(getattr(synthesis, "state", {}).get("_modules") or {}) if synthesis else set()
    if net.class_name != "Generator" or not parts:
        raise ModelLoadError(f"{Path(path).name}: unknown generator class {net.class_name}.")
    if "input" in parts:  # StyleGAN3's synthesis starts from a Fourier-feature input layer
        return _sg3_config(net.init_kwargs), _floats(net.tensors())
    return from_init_kwargs(net.init_kwargs), _floats(net.tensors())


def _sg3_config(kwargs: Mapping[str, Any]) -> Any:
    from studio.engine.stylegan.sg3 import StyleGAN3Config

    try:
        return StyleGAN3Config.from_init_kwargs(dict(kwargs))
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(
            "The StyleGAN3 generator's arguments are not readable.", str(exc)
        ) from exc


_ROSINALITY = (
    (r"style\.(\d+)\.(weight|bias)", lambda m: f"mapping.fc{int(m[1]) - 1}.{m[2]}"),
    (r"input\.input", lambda m: "synthesis.b4.const"),
    (r"conv1\.(.+)", lambda m: _rosinality_layer("synthesis.b4.conv1", m[1])),
    (r"to_rgb1\.(.+)", lambda m: _rosinality_layer("synthesis.b4.torgb", m[1])),
    (r"convs\.(\d+)\.(.+)", lambda m: _rosinality_layer(_conv_name(int(m[1])), m[2])),
    (r"to_rgbs\.(\d+)\.(.+)", lambda m: _rosinality_layer(_rgb_name(int(m[1])), m[2])),
    (r"noises\.noise_(\d+)", lambda m: f"{_noise_layer(int(m[1]))}.noise_const"),
)  # fmt: skip


def _conv_name(i: int) -> str:
    return f"synthesis.b{8 << (i // 2)}.conv{i % 2}"


def _rgb_name(i: int) -> str:
    return f"synthesis.b{8 << i}.torgb"


def _noise_layer(i: int) -> str:
    return "synthesis.b4.conv1" if i == 0 else _conv_name(i - 1)


def _rosinality_layer(prefix: str, rest: str) -> str | None:
    names = {"conv.weight": "weight", "conv.modulation.weight": "affine.weight",
             "conv.modulation.bias": "affine.bias", "noise.weight": "noise_strength",
             "activate.bias": "bias", "bias": "bias"}  # fmt: skip
    return f"{prefix}.{names[rest]}" if rest in names else None  # blur kernels: ours


def from_rosinality(g_ema: Mapping[str, Any], latent_avg: Any) -> dict[str, Any]:
    """rosinality/stylegan2-pytorch's generator keys -> NVlabs' (same maths, other shapes)."""
    out: dict[str, Any] = {}
    for key, value in g_ema.items():
        for pattern, rename in _ROSINALITY:
            if m := re.fullmatch(pattern, key):
                name = rename(m)
                if name is not None:
                    out[name] = value
                break
    for key, value in list(out.items()):
        if key.endswith((".weight", ".const")) and value.ndim in (4, 5) and value.shape[0] == 1:
            out[key] = value[0]  # conv weights 1xOxIxKxK, the constant 1xCx4x4
        elif key.endswith(("noise_const", "noise_strength", "torgb.bias")):
            out[key] = value.reshape(value.shape[-2:] if key.endswith("const") else -1)
    for key in [k for k in out if k.endswith("noise_strength")]:
        out[key] = out[key].reshape(())
    if latent_avg is not None:
        out["mapping.w_avg"] = latent_avg.reshape(-1)
    return _floats(out)


def _from_weights_file(path: Path) -> tuple[StyleGANConfig | None, dict[str, Any]]:
    if path.suffix.lower() == ".safetensors":
        return None, _floats(load_safetensors(path))
    data = read_pickle(path)
    if isinstance(data, Mapping) and isinstance(data.get("g_ema"), Mapping):
        return None, from_rosinality(data["g_ema"], data.get("latent_avg"))
    if isinstance(data, Mapping):
        for key in ("G_ema", "g_ema", "state_dict"):
            if isinstance(data.get(key), Mapping):
                data = data[key]
                break
        return None, _floats({k: v for k, v in data.items() if hasattr(v, "shape")})
    raise ModelLoadError(f"{path.name} does not hold StyleGAN weights.")


def load_generator_weights(path: str | Path) -> tuple[StyleGANConfig, dict[str, Any]]:
    """(config, state dict in NVlabs names) of any StyleGAN2 file Studio reads."""
    from studio.engine.models.settings import read_json_object

    path = Path(path)
    if path.suffix.lower() == ".pkl":
        return from_nvlabs_pickle(path)
    if path.suffix.lower() not in (".safetensors", *PICKLE_SUFFIXES):
        raise ModelLoadError(f"{path.name}: not a StyleGAN weight file.")
    config, sd = _from_weights_file(path)
    side = sidecar_path(path)
    sidecar = read_json_object(side) if side.is_file() else {}
    if sidecar.get("format") == SIDECAR_FORMAT and sidecar.get("generation") == "stylegan3":
        config = _sg3_config(sidecar)
    elif sidecar.get("format") == SIDECAR_FORMAT:
        config = StyleGANConfig.from_json(sidecar)
    if config is None and "synthesis.input.weight" in sd:
        raise ModelLoadError(
            f"{path.name} is a StyleGAN3 generator without its architecture: convert the "
            ".pkl it came from (its .json sidecar holds what the weights do not say)."
        )
    if config is None:
        config = from_state_dict({k: tuple(v.shape) for k, v in sd.items()})
    return config, sd


def convert(path: str | Path, out: str | Path | None = None) -> Path:
    """Write any StyleGAN2 file as .safetensors (NVlabs key names) + a JSON architecture sidecar."""
    from safetensors.torch import save_file

    path = Path(path)
    out = Path(out) if out is not None else path.with_suffix(".safetensors")
    if out.exists() or sidecar_path(out).exists():
        raise ModelLoadError(f"{out.name} (or its .json) already exists; not overwriting it.")
    config, sd = load_generator_weights(path)
    build(config, sd)  # refuse to write weights that do not make a generator
    save_file({k: v.clone() for k, v in sd.items()}, str(out), metadata={"format": SIDECAR_FORMAT})
    sidecar_path(out).write_text(_sidecar_text(config), encoding="utf-8")
    return out


def _sidecar_text(config: Any) -> str:
    if isinstance(config, StyleGANConfig):
        return config.to_json()
    return json.dumps({"format": SIDECAR_FORMAT, **config.to_dict()}, indent=1)


def build(config: Any, sd: Mapping[str, Any]) -> Any:
    """Our StyleGAN2 or StyleGAN3 generator with these weights (the StyleGAN2 resampling
    filters we compute ourselves may be missing from the file)."""
    from studio.engine.stylegan.sg3 import StyleGAN3
    from studio.engine.stylegan.synthesis import StyleGAN2

    kind = StyleGAN2 if isinstance(config, StyleGANConfig) else StyleGAN3
    net = kind(config).eval().requires_grad_(False)
    missing, unexpected = net.load_state_dict(dict(sd), strict=False)
    missing = [k for k in missing if not k.endswith("resample_filter")]
    if missing or unexpected:
        raise ModelLoadError(
            "These weights do not fit a StyleGAN generator of this architecture.",
            f"missing: {missing[:8]}; unexpected: {list(unexpected)[:8]}",
        )
    return net
