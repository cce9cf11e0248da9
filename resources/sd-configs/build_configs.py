"""Write the offline config folders (JSON only) Studio passes as `config=` to from_single_file.

Run from the repository root: `python resources/sd-configs/build_configs.py`. The values are the
published architectures of each family; tokenizer vocab/merges are NOT written here: Studio derives
them from the openai-clip wheel on first use (studio/engine/models/clip_vocab.py).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SD_SCHED = dict(
    beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000
)
PNDM = dict(
    SD_SCHED, skip_prk_steps=True, steps_offset=1, set_alpha_to_one=False, clip_sample=False
)
DDIM = dict(SD_SCHED, steps_offset=1, set_alpha_to_one=False, clip_sample=False)
EULER = dict(SD_SCHED, steps_offset=1, timestep_spacing="leading", interpolation_type="linear")
CLIP_L = dict(
    hidden_size=768,
    intermediate_size=3072,
    num_attention_heads=12,
    num_hidden_layers=12,
    projection_dim=768,
    hidden_act="quick_gelu",
)
OPEN_CLIP_H = dict(
    hidden_size=1024,
    intermediate_size=4096,
    num_attention_heads=16,
    num_hidden_layers=23,
    projection_dim=512,
    hidden_act="gelu",
)
OPEN_CLIP_G = dict(
    hidden_size=1280,
    intermediate_size=5120,
    num_attention_heads=20,
    num_hidden_layers=32,
    projection_dim=1280,
    hidden_act="gelu",
)
CLIP_COMMON = dict(
    vocab_size=49408,
    max_position_embeddings=77,
    bos_token_id=0,
    eos_token_id=2,
    pad_token_id=1,
    layer_norm_eps=1e-5,
)
SD_UNET = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    cross_attention_dim=768,
    attention_head_dim=8,
)
SD2_UNET = dict(
    SD_UNET,
    cross_attention_dim=1024,
    attention_head_dim=(5, 10, 20, 20),
    use_linear_projection=True,
)
XL_UNET = dict(
    sample_size=128,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=(1, 2, 10),
    attention_head_dim=(5, 10, 20),
    cross_attention_dim=2048,
    use_linear_projection=True,
    addition_embed_type="text_time",
    addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=2816,
)
XL_REFINER_UNET = dict(
    XL_UNET,
    block_out_channels=(384, 768, 1536, 1536),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=4,
    attention_head_dim=(6, 12, 24, 24),
    cross_attention_dim=1280,
    projection_class_embeddings_input_dim=2560,
)
SD_VAE = dict(
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    layers_per_block=2,
    sample_size=512,
    block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    scaling_factor=0.18215,
)
XL_VAE = dict(SD_VAE, sample_size=1024, scaling_factor=0.13025, force_upcast=True)
TOKENIZER = dict(
    tokenizer_class="CLIPTokenizer",
    model_max_length=77,
    do_lower_case=True,
    bos_token="<|startoftext|>",
    eos_token="<|endoftext|>",
    unk_token="<|endoftext|>",
)

# name -> (pipeline class, scheduler, unet, vae, text encoders [(folder, class, cfg, pad)])
FAMILIES = {
    "sd1": (
        "StableDiffusionPipeline",
        ("PNDMScheduler", PNDM),
        SD_UNET,
        SD_VAE,
        [("", "CLIPTextModel", CLIP_L, "<|endoftext|>")],
    ),
    "sd1-inpaint": (
        "StableDiffusionInpaintPipeline",
        ("DDIMScheduler", DDIM),
        dict(SD_UNET, in_channels=9),
        SD_VAE,
        [("", "CLIPTextModel", CLIP_L, "<|endoftext|>")],
    ),
    "sd2": (
        "StableDiffusionPipeline",
        ("DDIMScheduler", DDIM),
        SD2_UNET,
        SD_VAE,
        [("", "CLIPTextModel", OPEN_CLIP_H, "!")],
    ),
    "sd2-v": (
        "StableDiffusionPipeline",
        ("DDIMScheduler", dict(DDIM, prediction_type="v_prediction")),
        dict(SD2_UNET, sample_size=96),
        SD_VAE,
        [("", "CLIPTextModel", OPEN_CLIP_H, "!")],
    ),
    "sd2-inpaint": (
        "StableDiffusionInpaintPipeline",
        ("DDIMScheduler", DDIM),
        dict(SD2_UNET, in_channels=9),
        SD_VAE,
        [("", "CLIPTextModel", OPEN_CLIP_H, "!")],
    ),
    "sdxl": (
        "StableDiffusionXLPipeline",
        ("EulerDiscreteScheduler", EULER),
        XL_UNET,
        XL_VAE,
        [
            ("", "CLIPTextModel", CLIP_L, "<|endoftext|>"),
            ("_2", "CLIPTextModelWithProjection", OPEN_CLIP_G, "!"),
        ],
    ),
    "sdxl-inpaint": (
        "StableDiffusionXLInpaintPipeline",
        ("EulerDiscreteScheduler", EULER),
        dict(XL_UNET, in_channels=9),
        XL_VAE,
        [
            ("", "CLIPTextModel", CLIP_L, "<|endoftext|>"),
            ("_2", "CLIPTextModelWithProjection", OPEN_CLIP_G, "!"),
        ],
    ),
    "sdxl-refiner": (
        "StableDiffusionXLImg2ImgPipeline",
        ("EulerDiscreteScheduler", EULER),
        XL_REFINER_UNET,
        XL_VAE,
        [("_2", "CLIPTextModelWithProjection", OPEN_CLIP_G, "!")],
    ),
}
CONTROLNETS = {
    "controlnet-sd1": dict(cross_attention_dim=768, attention_head_dim=8),
    "controlnet-sd2": dict(
        cross_attention_dim=1024, attention_head_dim=(5, 10, 20, 20), use_linear_projection=True
    ),
}


def _dump(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _model_config(cls, kwargs: dict) -> dict:
    """Every init argument of the class with our overrides (no weights are built)."""
    import diffusers
    from accelerate import init_empty_weights

    with init_empty_weights():
        model = cls(**kwargs)
    config = dict(model.config)
    config = {k: v for k, v in config.items() if not k.startswith("_")}
    config["_class_name"] = cls.__name__
    config["_diffusers_version"] = diffusers.__version__
    return json.loads(json.dumps(config))


def build_family(name: str, spec: tuple) -> None:
    import diffusers
    from transformers import CLIPTextConfig

    pipeline, (sched_name, sched_cfg), unet, vae, encoders = spec
    out = HERE / name
    shutil.rmtree(out, ignore_errors=True)
    index = {"_class_name": pipeline, "_diffusers_version": diffusers.__version__}
    index["scheduler"] = ["diffusers", sched_name]
    index["unet"] = ["diffusers", "UNet2DConditionModel"]
    index["vae"] = ["diffusers", "AutoencoderKL"]
    if pipeline.startswith("StableDiffusionXL"):
        for suffix in ("", "_2"):
            index[f"text_encoder{suffix}"] = [None, None]
            index[f"tokenizer{suffix}"] = [None, None]
        index["image_encoder"] = [None, None]
        index["feature_extractor"] = [None, None]
        refiner = name == "sdxl-refiner"
        index["force_zeros_for_empty_prompt"] = not refiner
        if refiner or name == "sdxl-inpaint":
            index["requires_aesthetics_score"] = refiner
    else:
        index.update(safety_checker=[None, None], feature_extractor=[None, None])
        index.update(image_encoder=[None, None], requires_safety_checker=False)
    for suffix, cls, cfg, pad in encoders:
        index[f"text_encoder{suffix}"] = ["transformers", cls]
        index[f"tokenizer{suffix}"] = ["transformers", "CLIPTokenizer"]
        text = CLIPTextConfig(**CLIP_COMMON, **cfg)
        text.architectures = [cls]
        _dump(out / f"text_encoder{suffix}" / "config.json", text.to_dict())
        _dump(out / f"tokenizer{suffix}" / "tokenizer_config.json", dict(TOKENIZER, pad_token=pad))
    _dump(out / "model_index.json", index)
    sched_cls = getattr(diffusers, sched_name)
    _dump(
        out / "scheduler" / "scheduler_config.json", dict(sched_cls.from_config(sched_cfg).config)
    )
    _dump(out / "unet" / "config.json", _model_config(diffusers.UNet2DConditionModel, unet))
    _dump(out / "vae" / "config.json", _model_config(diffusers.AutoencoderKL, vae))


def main() -> int:
    import diffusers

    for name, spec in FAMILIES.items():
        build_family(name, spec)
    for name, kwargs in CONTROLNETS.items():
        _dump(HERE / name / "config.json", _model_config(diffusers.ControlNetModel, kwargs))
    _dump(HERE / "taesd" / "config.json", _model_config(diffusers.AutoencoderTiny, {}))
    print(f"wrote {len(FAMILIES) + len(CONTROLNETS) + 1} config folders under {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
