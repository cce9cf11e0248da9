"""Write a diffusers pipeline as an original-layout (LDM / SGM) single file, for tests and tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESNET = [
    ("norm1.", "in_layers.0."),
    ("conv1.", "in_layers.2."),
    ("norm2.", "out_layers.0."),
    ("conv2.", "out_layers.3."),
    ("time_emb_proj.", "emb_layers.1."),
    ("conv_shortcut.", "skip_connection."),
]
UNET_TOP = [
    ("time_embedding.linear_1.", "time_embed.0."),
    ("time_embedding.linear_2.", "time_embed.2."),
    ("add_embedding.linear_1.", "label_emb.0.0."),
    ("add_embedding.linear_2.", "label_emb.0.2."),
    ("conv_in.", "input_blocks.0.0."),
    ("conv_norm_out.", "out.0."),
    ("conv_out.", "out.2."),
]


def _block_prefixes(config: Any) -> list[tuple[str, str]]:
    """diffusers block prefixes -> LDM prefixes for any depth and layers_per_block."""
    layers = config.layers_per_block
    n = len(config.block_out_channels)
    pairs = [("mid_block.attentions.0.", "middle_block.1.")]
    pairs += [(f"mid_block.resnets.{j}.", f"middle_block.{2 * j}.") for j in range(2)]
    for i in range(n):
        for j in range(layers):
            pairs.append(
                (f"down_blocks.{i}.resnets.{j}.", f"input_blocks.{(layers + 1) * i + j + 1}.0.")
            )
            pairs.append(
                (f"down_blocks.{i}.attentions.{j}.", f"input_blocks.{(layers + 1) * i + j + 1}.1.")
            )
        if i < n - 1:
            pairs.append(
                (
                    f"down_blocks.{i}.downsamplers.0.conv.",
                    f"input_blocks.{(layers + 1) * (i + 1)}.0.op.",
                )
            )
        has_attention = "CrossAttn" in config.up_block_types[i]
        for j in range(layers + 1):
            pairs.append(
                (f"up_blocks.{i}.resnets.{j}.", f"output_blocks.{(layers + 1) * i + j}.0.")
            )
            pairs.append(
                (f"up_blocks.{i}.attentions.{j}.", f"output_blocks.{(layers + 1) * i + j}.1.")
            )
        if i < n - 1:
            slot = 2 if has_attention else 1
            pairs.append(
                (
                    f"up_blocks.{i}.upsamplers.0.",
                    f"output_blocks.{(layers + 1) * i + layers}.{slot}.",
                )
            )
    return pairs


def _rename(key: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in pairs:
        if key.startswith(old):
            return new + key[len(old) :]
    return key


def _unet_key(key: str, blocks: list[tuple[str, str]]) -> str:
    new = _rename(key, UNET_TOP)
    if new != key:
        return new
    for old_prefix, ldm_prefix in blocks:
        if key.startswith(old_prefix):
            tail = key[len(old_prefix) :]
            if ".resnets." in old_prefix:
                tail = _rename(tail, RESNET)
            return ldm_prefix + tail
    return key


def unet_to_ldm(unet: Any) -> dict[str, Any]:
    blocks = _block_prefixes(unet.config)
    return {
        "model.diffusion_model." + _unet_key(k, blocks): v for k, v in unet.state_dict().items()
    }


def controlnet_to_ldm(controlnet: Any, prefix: str = "control_model.") -> dict[str, Any]:
    """A diffusers ControlNetModel in the original (lllyasviel) layout: `control_model.*`
    (some releases, e.g. SD 2.x ControlNets, drop that prefix: pass prefix="")."""
    from types import SimpleNamespace

    cfg = controlnet.config
    levels = len(cfg.block_out_channels)
    shim = SimpleNamespace(
        layers_per_block=cfg.layers_per_block,
        block_out_channels=cfg.block_out_channels,
        up_block_types=["UpBlock2D"] * levels,  # a ControlNet has no up blocks
    )
    blocks = _block_prefixes(shim)
    hint = len(controlnet.controlnet_cond_embedding.blocks)
    pairs = [
        ("controlnet_mid_block.", "middle_block_out.0."),
        ("controlnet_cond_embedding.conv_in.", "input_hint_block.0."),
        ("controlnet_cond_embedding.conv_out.", f"input_hint_block.{2 * hint + 2}."),
    ]  # the hint block is a Sequential with a SiLU after every conv: convs at even indices
    pairs += [(f"controlnet_cond_embedding.blocks.{k}.", f"input_hint_block.{2 * k + 2}.")
              for k in range(hint)]  # fmt: skip
    pairs += [(f"controlnet_down_blocks.{i}.", f"zero_convs.{i}.0.")
              for i in range(len(controlnet.controlnet_down_blocks))]  # fmt: skip
    out = {}
    for key, value in controlnet.state_dict().items():
        new = _rename(key, pairs)
        out[prefix + (new if new != key else _unet_key(key, blocks))] = value.detach().clone()
    return out


def vae_to_ldm(vae: Any) -> dict[str, Any]:
    n = len(vae.config.block_out_channels)
    pairs = [("encoder.mid_block.attentions.0.", "encoder.mid.attn_1.")]
    pairs += [("decoder.mid_block.attentions.0.", "decoder.mid.attn_1.")]
    for part in ("encoder", "decoder"):
        pairs += [
            (f"{part}.mid_block.resnets.{j}.", f"{part}.mid.block_{j + 1}.") for j in range(2)
        ]
        pairs.append((f"{part}.conv_norm_out.", f"{part}.norm_out."))
    for i in range(n):
        pairs.append((f"encoder.down_blocks.{i}.downsamplers.0.", f"encoder.down.{i}.downsample."))
        pairs.append((f"encoder.down_blocks.{i}.resnets.", f"encoder.down.{i}.block."))
        pairs.append((f"decoder.up_blocks.{i}.upsamplers.0.", f"decoder.up.{n - 1 - i}.upsample."))
        pairs.append((f"decoder.up_blocks.{i}.resnets.", f"decoder.up.{n - 1 - i}.block."))
    attn = [("group_norm.", "norm."), ("to_q.", "q."), ("to_k.", "k."), ("to_v.", "v.")]
    attn.append(("to_out.0.", "proj_out."))
    out = {}
    for key, value in vae.state_dict().items():
        new = _rename(key, pairs).replace("conv_shortcut.", "nin_shortcut.")
        if ".attn_1." in new:
            head, _, tail = new.partition(".attn_1.")
            tail = _rename(tail, attn)
            if value.ndim == 2:  # LDM keeps these as 1x1 convolutions
                value = value[:, :, None, None]
            new = f"{head}.attn_1.{tail}"
        out["first_stage_model." + new] = value
    return out


def clip_to_ldm(text_encoder: Any, prefix: str) -> dict[str, Any]:
    """transformers CLIPTextModel -> `<prefix>text_model.*` (SD1 and SDXL's first encoder)."""
    out = {}
    for key, value in text_encoder.state_dict().items():
        key = key if key.startswith("text_model.") else "text_model." + key
        out[prefix + key] = value
    return out


def open_clip_to_ldm(text_encoder: Any, prefix: str) -> dict[str, Any]:
    """transformers CLIP(WithProjection) -> OpenCLIP layout (SD2, SDXL bigG) under `prefix`."""
    import torch

    state = {k.removeprefix("text_model."): v for k, v in text_encoder.state_dict().items()}
    out = {
        prefix + "token_embedding.weight": state["embeddings.token_embedding.weight"],
        prefix + "positional_embedding": state["embeddings.position_embedding.weight"],
        prefix + "ln_final.weight": state["final_layer_norm.weight"],
        prefix + "ln_final.bias": state["final_layer_norm.bias"],
    }
    if "text_projection.weight" in state:
        out[prefix + "text_projection"] = state["text_projection.weight"].T.contiguous()
    layers = text_encoder.config.num_hidden_layers
    for i in range(layers):
        src, dst = f"encoder.layers.{i}.", f"{prefix}transformer.resblocks.{i}."
        for kind in ("weight", "bias"):
            qkv = [state[f"{src}self_attn.{p}_proj.{kind}"] for p in "qkv"]
            out[f"{dst}attn.in_proj_{kind}"] = torch.cat(qkv, 0)
            out[f"{dst}attn.out_proj.{kind}"] = state[f"{src}self_attn.out_proj.{kind}"]
            out[f"{dst}ln_1.{kind}"] = state[f"{src}layer_norm1.{kind}"]
            out[f"{dst}ln_2.{kind}"] = state[f"{src}layer_norm2.{kind}"]
            out[f"{dst}mlp.c_fc.{kind}"] = state[f"{src}mlp.fc1.{kind}"]
            out[f"{dst}mlp.c_proj.{kind}"] = state[f"{src}mlp.fc2.{kind}"]
    return out


def pipeline_to_ldm(pipe: Any, family: str) -> dict[str, Any]:
    """The whole pipeline as one original-layout state dict (SD1, SD2 or SDXL base/refiner)."""
    out = {**unet_to_ldm(pipe.unet), **vae_to_ldm(pipe.vae)}
    if family == "sd1":
        out.update(clip_to_ldm(pipe.text_encoder, "cond_stage_model.transformer."))
    elif family == "sd2":
        out.update(open_clip_to_ldm(pipe.text_encoder, "cond_stage_model.model."))
    elif getattr(pipe, "text_encoder", None) is not None:
        out.update(clip_to_ldm(pipe.text_encoder, "conditioner.embedders.0.transformer."))
        out.update(open_clip_to_ldm(pipe.text_encoder_2, "conditioner.embedders.1.model."))
    else:  # SDXL refiner: only the big OpenCLIP encoder
        out.update(open_clip_to_ldm(pipe.text_encoder_2, "conditioner.embedders.0.model."))
    return {k: v.detach().clone().contiguous() for k, v in out.items()}


def save_single_file(folder: Path, out: Path, family: str, sidecar: bool = True) -> Path:
    """A diffusers folder written as one original-layout file (.safetensors, or .ckpt pickled).

    With `sidecar`, also writes `<stem>.config/` (the folder without weights) next to it, the
    config Studio uses for checkpoints whose architecture differs from the shipped families.
    """
    import shutil

    import diffusers

    folder, out = Path(folder), Path(out)
    index = json.loads((folder / "model_index.json").read_text())
    cls = getattr(diffusers, index["_class_name"])
    pipe = cls.from_pretrained(str(folder), local_files_only=True)
    state = pipeline_to_ldm(pipe, family)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(out))
    else:
        import torch

        torch.save({"state_dict": state, "global_step": 1}, str(out))
    if sidecar:
        target = out.with_name(out.stem + ".config")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    return out
