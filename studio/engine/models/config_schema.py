"""What the fields of diffusers/transformers configs must look like before Studio reads them,
and a parameter count estimated from a config (so an absurd one is refused before building)."""

from __future__ import annotations

from typing import Any

MAX_INT = 2**31  # any size field past this is damage, not a model
TEXT_FIELDS = ("_class_name", "hidden_act", "prediction_type", "timestep_spacing", "beta_schedule")
INT_FIELDS = (
    "in_channels", "out_channels", "latent_channels", "hidden_size", "num_hidden_layers",
    "intermediate_size", "vocab_size", "max_position_embeddings", "num_train_timesteps",
    "num_class_embeds", "norm_num_groups", "projection_dim",
)  # fmt: skip
INT_OR_LIST_FIELDS = (
    "cross_attention_dim", "layers_per_block", "attention_head_dim", "sample_size",
    "transformer_layers_per_block", "num_attention_heads",
)  # fmt: skip


def _size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INT


def _sizes(value: Any, depth: int = 0) -> bool:
    """An int, or a (short, possibly nested once) list of ints: diffusers allows both."""
    if isinstance(value, list):
        return depth < 2 and len(value) <= 64 and all(_sizes(v, depth + 1) for v in value)
    return _size(value)


def _index_problem(data: dict[str, Any]) -> str | None:
    """model_index.json: `_class_name` text, each component `[library, class]`."""
    for key, value in data.items():
        if key.startswith("_") or not isinstance(value, list):
            continue
        if len(value) != 2 or not all(v is None or isinstance(v, str) for v in value):
            return f"component {key[:60]!r} should be [library, class], not {str(value)[:60]}"
    return None


def check_fields(filename: str, data: dict[str, Any]) -> str | None:
    """Plain words for the first field of the wrong type (None if all Studio reads are fine)."""
    for key in TEXT_FIELDS:
        if data.get(key) is not None and not isinstance(data[key], str):
            return f"{key!r} should be text, not {str(data[key])[:40]}"
    if filename == "model_index.json":
        return _index_problem(data)
    for key in INT_FIELDS:
        if data.get(key) is not None and not _size(data[key]):
            return f"{key!r} should be a whole number up to {MAX_INT}, not {str(data[key])[:40]}"
    for key in INT_OR_LIST_FIELDS:
        if data.get(key) is not None and not _sizes(data[key]):
            return f"{key!r} should be a size or a list of sizes, not {str(data[key])[:40]}"
    channels = data.get("block_out_channels")
    if channels is not None and not (
        isinstance(channels, list) and 0 < len(channels) <= 16 and all(map(_size, channels))
    ):
        return f"'block_out_channels' should be a short list of sizes, not {str(channels)[:40]}"
    for key in ("down_block_types", "up_block_types"):
        types = data.get(key)
        if types is not None and not (
            isinstance(types, list) and len(types) <= 16 and all(isinstance(t, str) for t in types)
        ):
            return f"{key!r} should be a short list of block names"
    return None


def _largest(value: Any, default: int) -> int:
    """The largest int in an int / list / nested list (diffusers per-block settings)."""
    if value is None:
        return default
    if isinstance(value, list):
        return max((_largest(v, default) for v in value), default=default)
    return int(value)


def _unet_like(config: dict[str, Any]) -> int:
    """UNets, ControlNets and VAEs: resnets + attention per level (within ~30% for SD UNets)."""
    chans = [int(c) for c in config["block_out_channels"]]
    layers = _largest(config.get("layers_per_block"), 2)
    cross = _largest(config.get("cross_attention_dim"), 0)
    depth = _largest(config.get("transformer_layers_per_block"), 1)
    attn = any("Attn" in t for t in (config.get("down_block_types") or ["Attn"]))
    embed = chans[0] * 4
    total = _largest(config.get("in_channels"), 4) * chans[0] * 9 + chans[0] * embed + embed**2
    total += (_largest(config.get("num_class_embeds"), 0)) * embed
    for c in chans + [chans[-1]]:  # every level, then the middle block
        block = 18 * c * c + embed * c
        if attn:
            block += depth * (12 * c * c + 2 * c * cross)
        total += (2 * layers + 1) * block
    return total


def _transformer(config: dict[str, Any]) -> int:
    """Text encoders (CLIP, T5-like): embeddings + attention + MLP per layer."""
    hidden = int(config["hidden_size"])
    inner = _largest(config.get("intermediate_size"), 4 * hidden)
    tokens = _largest(config.get("vocab_size"), 0)
    total = (tokens + _largest(config.get("max_position_embeddings"), 0)) * hidden
    return total + int(config["num_hidden_layers"]) * (4 * hidden * hidden + 2 * hidden * inner)


def estimate_parameters(config: dict[str, Any]) -> int | None:
    """About how many parameters the model a config describes has; None if not a known shape."""
    if config.get("block_out_channels") is not None:
        return _unet_like(config)
    if config.get("hidden_size") is not None and config.get("num_hidden_layers") is not None:
        return _transformer(config)
    return None
