"""Random-weight Stable Diffusion pipelines built from configs, offline (tests, benchmarks)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from studio.engine.models.clip_vocab import byte_symbols

BOS_ID, EOS_ID = 512, 513  # char-level vocab: 256 byte symbols, 256 "</w>" variants, bos, eos


def write_char_tokenizer(folder: Path) -> None:
    """Write a character-level CLIP tokenizer (514 tokens, no merges) that loads with no network."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = byte_symbols()
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
    in_channels: int = 4  # 9 for an inpainting UNet (latents + mask + masked-image latents)
    sd2: bool = False  # SD 2.x style: linear attention projections, OpenCLIP-like text encoder


def build_sd_pipeline(spec: TinySpec = TinySpec(), seed: int = 0):
    """A StableDiffusionPipeline with random weights (float32, CPU)."""
    import torch
    from diffusers import (
        PNDMScheduler,
        StableDiffusionInpaintPipeline,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )

    torch.manual_seed(seed)
    n = len(spec.unet_channels)
    unet = UNet2DConditionModel(
        block_out_channels=spec.unet_channels,
        layers_per_block=spec.layers_per_block,
        sample_size=spec.sample_size,
        in_channels=spec.in_channels,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D",) * (n - 1) + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (n - 1),
        cross_attention_dim=spec.cross_attention_dim,
        attention_head_dim=spec.attention_head_dim,
        norm_num_groups=min(8, spec.unet_channels[0]),
        use_linear_projection=spec.sd2,
    )
    vae = _tiny_vae(spec)
    text_encoder = _tiny_text_encoder(spec, hidden_act="gelu" if spec.sd2 else "quick_gelu")
    # SD1.5 ships PNDM with these betas; the sampler table swaps it per request.
    scheduler = PNDMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        skip_prk_steps=True,
        steps_offset=1,
    )
    cls = StableDiffusionInpaintPipeline if spec.in_channels == 9 else StableDiffusionPipeline
    return cls(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=None,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def _tiny_vae(spec: TinySpec):
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        block_out_channels=list(spec.vae_channels),
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * len(spec.vae_channels),
        up_block_types=["UpDecoderBlock2D"] * len(spec.vae_channels),
        latent_channels=4,
        norm_num_groups=4,
        sample_size=spec.sample_size * 8,
    )


def _tiny_text_encoder(
    spec: TinySpec, with_projection: bool = False, hidden: int = 0, hidden_act: str = ""
):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    cls = CLIPTextModelWithProjection if with_projection else CLIPTextModel
    return cls(
        CLIPTextConfig(
            bos_token_id=BOS_ID,
            eos_token_id=EOS_ID,
            pad_token_id=EOS_ID,
            hidden_size=hidden or spec.text_hidden,
            intermediate_size=(hidden or spec.text_hidden) * 2,
            projection_dim=hidden or spec.cross_attention_dim,
            layer_norm_eps=1e-5,
            num_attention_heads=4,
            num_hidden_layers=spec.text_layers,
            vocab_size=514,
            max_position_embeddings=77,
            hidden_act=hidden_act or ("gelu" if with_projection else "quick_gelu"),
        )
    )


def build_sdxl_pipeline(spec: TinySpec = TinySpec(), seed: int = 0, refiner: bool = False):
    """A random-weight SDXL base (or refiner) pipeline: two text encoders, micro-conditioning."""
    import torch
    from diffusers import (
        EulerDiscreteScheduler,
        StableDiffusionXLImg2ImgPipeline,
        StableDiffusionXLInpaintPipeline,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )

    torch.manual_seed(seed)
    # Like real SDXL the two encoders differ in width (diffusers tells them apart by it).
    hidden, hidden_2 = spec.text_hidden, 2 * spec.text_hidden
    time_dim = 8
    n_ids = 5 if refiner else 6  # refiner: size, crop, aesthetic score; base: size, crop, target
    unet = UNet2DConditionModel(
        block_out_channels=spec.unet_channels,
        layers_per_block=spec.layers_per_block,
        sample_size=spec.sample_size,
        in_channels=spec.in_channels,
        out_channels=4,
        down_block_types=("DownBlock2D",)
        + ("CrossAttnDownBlock2D",) * (len(spec.unet_channels) - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (len(spec.unet_channels) - 1) + ("UpBlock2D",),
        attention_head_dim=spec.attention_head_dim,
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=time_dim,
        projection_class_embeddings_input_dim=n_ids * time_dim + hidden_2,
        cross_attention_dim=hidden_2 if refiner else hidden + hidden_2,
        norm_num_groups=min(8, spec.unet_channels[0]),
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        steps_offset=1,
        timestep_spacing="leading",
    )
    parts = dict(
        unet=unet,
        vae=_tiny_vae(spec),
        text_encoder_2=_tiny_text_encoder(spec, with_projection=True, hidden=hidden_2),
        tokenizer_2=None,
        scheduler=scheduler,
    )
    if refiner:
        return StableDiffusionXLImg2ImgPipeline(
            text_encoder=None, tokenizer=None, requires_aesthetics_score=True, **parts
        )
    cls = StableDiffusionXLInpaintPipeline if spec.in_channels == 9 else StableDiffusionXLPipeline
    return cls(text_encoder=_tiny_text_encoder(spec), tokenizer=None, **parts)


def save_sd_folder(
    folder: Path, spec: TinySpec = TinySpec(), seed: int = 0, family: str = "sd1"
) -> Path:
    """A random-weight pipeline ("sd1", "sd2", "sdxl", "sdxl-refiner") saved with tokenizers."""
    from transformers import CLIPTokenizer

    folder = Path(folder)
    if family in ("sd1", "sd2"):
        pipe = build_sd_pipeline(replace(spec, sd2=family == "sd2"), seed)
    else:
        pipe = build_sdxl_pipeline(spec, seed, refiner=family == "sdxl-refiner")
    for name in ("tokenizer", "tokenizer_2"):
        if name not in pipe.components:
            continue
        if name == "tokenizer" and pipe.components.get("text_encoder") is None:
            continue
        write_char_tokenizer(folder / name)
        pipe.register_modules(
            **{name: CLIPTokenizer.from_pretrained(str(folder / name), local_files_only=True)}
        )
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder


def save_controlnet_folder(folder: Path, sd_folder: Path, seed: int = 3) -> Path:
    """A random-weight ControlNet shaped for the UNet of `sd_folder` (outputs not zeroed)."""
    import torch
    from diffusers import ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(str(Path(sd_folder) / "unet"))
    torch.manual_seed(seed)
    controlnet = ControlNetModel.from_unet(unet)
    with torch.no_grad():  # from_unet zero-initialises the outputs; make them matter
        for p in controlnet.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    controlnet.save_pretrained(str(folder))
    return Path(folder)
