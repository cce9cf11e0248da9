"""Random-weight Stable Diffusion pipelines built from configs, offline (tests, benchmarks)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

BOS_ID, EOS_ID = 512, 513  # char-level vocab: 256 byte symbols, 256 "</w>" variants, bos, eos


def _byte_symbols() -> list[str]:
    """The 256 printable stand-ins for bytes that byte-level BPE tokenizers use (GPT-2 / CLIP)."""
    printable = list(range(ord("!"), ord("~") + 1))
    printable += list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def write_char_tokenizer(folder: Path) -> None:
    """Write a character-level CLIP tokenizer (514 tokens, no merges) that loads with no network."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = _byte_symbols()
    vocab = {s: i for i, s in enumerate(symbols)}
    vocab.update({s + "</w>": 256 + i for i, s in enumerate(symbols)})
    vocab["<|startoftext|>"] = BOS_ID
    vocab["<|endoftext|>"] = EOS_ID
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": 77,
        "bos_token": "<|startoftext|>",
        "eos_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>",
        "do_lower_case": True,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")


@dataclass(frozen=True)
class TinySpec:
    """Widths of a scaffold pipeline; the defaults make a ~1.5 M parameter UNet."""

    unet_channels: tuple[int, ...] = (32, 64)
    layers_per_block: int = 1
    cross_attention_dim: int = 32
    attention_head_dim: int = 4
    vae_channels: tuple[int, ...] = (8, 16, 16, 16)  # 4 blocks: latent = image / 8, like SD
    text_hidden: int = 32
    text_layers: int = 2
    sample_size: int = 8


def build_sd_pipeline(spec: TinySpec = TinySpec(), seed: int = 0):
    """A StableDiffusionPipeline with random weights (float32, CPU)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        PNDMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    n = len(spec.unet_channels)
    unet = UNet2DConditionModel(
        block_out_channels=spec.unet_channels,
        layers_per_block=spec.layers_per_block,
        sample_size=spec.sample_size,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D",) * (n - 1) + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (n - 1),
        cross_attention_dim=spec.cross_attention_dim,
        attention_head_dim=spec.attention_head_dim,
        norm_num_groups=min(8, spec.unet_channels[0]),
    )
    vae = AutoencoderKL(
        block_out_channels=list(spec.vae_channels),
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * len(spec.vae_channels),
        up_block_types=["UpDecoderBlock2D"] * len(spec.vae_channels),
        latent_channels=4,
        norm_num_groups=4,
        sample_size=spec.sample_size * 8,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=BOS_ID,
            eos_token_id=EOS_ID,
            pad_token_id=EOS_ID,
            hidden_size=spec.text_hidden,
            intermediate_size=spec.text_hidden * 2,
            projection_dim=spec.cross_attention_dim,
            layer_norm_eps=1e-5,
            num_attention_heads=4,
            num_hidden_layers=spec.text_layers,
            vocab_size=514,
            max_position_embeddings=77,
        )
    )
    # SD1.5 ships PNDM with these betas; the sampler table swaps it per request.
    scheduler = PNDMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        skip_prk_steps=True,
        steps_offset=1,
    )
    return StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=None,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def save_sd_folder(folder: Path, spec: TinySpec = TinySpec(), seed: int = 0) -> Path:
    """Build a random-weight SD pipeline and save it as a diffusers folder with a tokenizer."""
    from transformers import CLIPTokenizer

    folder = Path(folder)
    tok_dir = folder / "tokenizer"
    write_char_tokenizer(tok_dir)
    pipe = build_sd_pipeline(spec, seed)
    pipe.tokenizer = CLIPTokenizer.from_pretrained(str(tok_dir), local_files_only=True)
    pipe.register_modules(tokenizer=pipe.tokenizer)
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder
