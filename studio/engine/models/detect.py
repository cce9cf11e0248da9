"""What a single weight file is, decided from its key names and tensor shapes (never its name)."""

from __future__ import annotations

from dataclasses import dataclass

UNET = "model.diffusion_model."
SD1_CLIP = "cond_stage_model.transformer.text_model."
SD2_CLIP = "cond_stage_model.model."
XL_CLIP_L = "conditioner.embedders.0.transformer.text_model."
XL_BASE_G = "conditioner.embedders.1.model."
XL_REFINER_G = "conditioner.embedders.0.model."
# ControlNet files: original layout (with or without `control_model.`) or diffusers keys
CONTROLNET_PREFIXES = (
    "control_model.",
    "input_hint_block.",
    "zero_convs.",
    "controlnet_cond_embedding.",
)
CONTEXT_WIDTH = {768: "sd1", 1024: "sd2", 2048: "sdxl", 1280: "sdxl"}
# SD 2.x v-prediction vs epsilon, from weight statistics (the rule ComfyUI uses): the spread of
# the first LayerNorm bias in the UNet's last attention block. Stability's 768-v checkpoints
# sit above it, the 512-base (epsilon) ones below; fine-tunes mostly keep their parent's value.
V_PREDICTION_STD = 0.09


@dataclass(frozen=True)
class Detected:
    """The verdict on one file: kind, family, variant tags, or why it is not usable."""

    kind: str  # "sd-pipeline" | "controlnet" | "lora" | "taesd" | "unknown"
    family: str = "?"  # "sd1" | "sd2" | "sdxl" | "?"
    variant: str = ""  # comma-separated: inpaint, refiner, v-prediction, turbo, encoder, decoder
    problem: str | None = None


def _has(keys, prefix: str) -> bool:
    return any(k.startswith(prefix) for k in keys)


def _tags(*tags: str) -> str:
    return ",".join(t for t in tags if t)


def _metadata_tags(metadata: dict[str, str]) -> list[str]:
    """Stability's modelspec metadata (and trainers') may name the prediction type or Turbo."""
    text = " ".join(f"{k}={v}" for k, v in metadata.items()).lower()
    tags = []
    if "prediction_type=v" in text or "v_prediction" in text or "parameterization=v" in text:
        tags.append("v-prediction")
    if "turbo" in text:
        tags.append("turbo")
    if "lcm" in text or "latent-consistency" in text:
        tags.append("lcm")
    return tags


def _checkpoint(shapes: dict[str, tuple[int, ...]], metadata: dict[str, str]) -> Detected:
    keys = shapes.keys()
    conv_in = shapes.get(UNET + "input_blocks.0.0.weight", ())
    in_channels = conv_in[1] if len(conv_in) == 4 else 4
    extra = _metadata_tags(metadata)
    if "v_pred" in shapes:  # marker tensor some v-prediction checkpoints carry
        extra.append("v-prediction")
    inpaint = "inpaint" if in_channels == 9 else ""
    if in_channels not in (4, 9):
        return Detected("unknown", "?", problem=f"a UNet with {in_channels} input channels")
    if _has(keys, XL_BASE_G) and _has(keys, XL_CLIP_L):
        return Detected("sd-pipeline", "sdxl", _tags(inpaint, *extra))
    if _has(keys, XL_REFINER_G):
        return Detected("sd-pipeline", "sdxl", _tags("refiner", inpaint, *extra))
    if _has(keys, SD2_CLIP):
        return Detected("sd-pipeline", "sd2", _tags(inpaint, *extra))
    if _has(keys, SD1_CLIP):
        return Detected("sd-pipeline", "sd1", _tags(inpaint, *extra))
    return Detected(
        "unknown", "?", problem="a UNet without its text encoder (not a complete checkpoint)"
    )


def v_prediction_probe(shapes: dict[str, tuple[int, ...]]) -> str | None:
    """The tensor the SD 2.x prediction-type guess reads: the norm1 bias of the last output
    block with attention (`output_blocks.11.1.…` in a full-size SD 2.x UNet)."""
    suffix = ".1.transformer_blocks.0.norm1.bias"
    prefix = UNET + "output_blocks."
    found = [k for k in shapes if k.startswith(prefix) and k.endswith(suffix)]
    if not found:
        return None
    return max(found, key=lambda k: int(k[len(prefix) :].split(".")[0]))


def guess_v_prediction(bias) -> tuple[bool, float]:
    """(is v-prediction, the statistic): population std of the probe bias above 0.09."""
    import numpy as np

    spread = float(np.asarray(bias, dtype=np.float64).std())
    return spread > V_PREDICTION_STD, spread


def _context_family(width: int | None) -> str:
    return CONTEXT_WIDTH.get(width, "?") if width else "?"


def _controlnet(shapes: dict[str, tuple[int, ...]]) -> Detected:
    for key, shape in shapes.items():
        if "attn2.to_k.weight" in key and len(shape) == 2:
            return Detected("controlnet", _context_family(shape[1]))
    return Detected("controlnet", "?")


def _lora(shapes: dict[str, tuple[int, ...]]) -> Detected:
    """Kohya (lora_unet_…) and diffusers/peft (….lora_A / lora.down) layouts."""
    keys = shapes.keys()
    if any(k.startswith(("lora_te2_", "text_encoder_2.")) for k in keys):
        return Detected("lora", "sdxl")
    for key, shape in shapes.items():
        down = "lora_down" in key or "lora_A" in key or "lora.down" in key
        if down and "attn2" in key and ("to_k" in key or "to_v" in key) and len(shape) == 2:
            return Detected("lora", _context_family(shape[1]))
    if any("input_blocks_7_1" in k or "input_blocks.7.1" in k for k in keys):
        return Detected("lora", "sdxl")
    return Detected("lora", "?")


def _taesd(shapes: dict[str, tuple[int, ...]]) -> Detected | None:
    """TAESD: original .pth Sequential keys, or diffusers AutoencoderTiny (`*.layers.*`)."""
    if _has(shapes, "decoder.layers.") or _has(shapes, "encoder.layers."):
        first = shapes.get("decoder.layers.0.weight", ())
        return Detected("taesd", _latent_family(first[1] if len(first) == 4 else 0))
    if not shapes or not all(k.split(".")[0].isdigit() for k in shapes):
        return None
    first_dec = shapes.get("1.weight", ())
    first_enc = shapes.get("0.weight", ())
    if len(first_dec) == 4 and first_dec[0] == 64 and "0.weight" not in shapes:
        return Detected("taesd", _latent_family(first_dec[1]), "decoder")
    if len(first_enc) == 4 and first_enc[1] == 3:
        last = max((k for k in shapes if k.endswith(".weight")), key=lambda k: int(k.split(".")[0]))
        return Detected("taesd", _latent_family(shapes[last][0]), "encoder")
    return None


def _latent_family(channels: int) -> str:
    # SD1/2 and SDXL TAESD share one architecture; shapes cannot tell them apart.
    return {4: "sd1|sdxl", 16: "sd3|flux"}.get(channels, "?")


def detect(shapes: dict[str, tuple[int, ...]], metadata: dict[str, str] | None = None) -> Detected:
    """Classify a weight file from its keys and shapes."""
    metadata = metadata or {}
    if not shapes:
        return Detected("unknown", problem="the file holds no tensors")
    if _has(shapes, UNET):
        return _checkpoint(shapes, metadata)
    if any(_has(shapes, p) for p in CONTROLNET_PREFIXES):
        return _controlnet(shapes)
    if any("lora" in k for k in shapes):
        return _lora(shapes)
    taesd = _taesd(shapes)
    if taesd is not None:
        return taesd
    if _has(shapes, "first_stage_model.") or _has(shapes, "decoder.up_blocks."):
        return Detected("vae", "?", problem="standalone VAE files are not supported yet")
    return Detected(
        "unknown", problem="not a model Studio knows (no UNet, ControlNet, LoRA or TAESD keys)"
    )
