"""How the Stable Diffusion family recognises its files: diffusers folders, single files,
ControlNet / TAESD folders, LoRAs; tags (inpaint, refiner, v-prediction, turbo, lcm) and the
artist's per-model settings applied on top."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from studio.engine.models.checkpoints import WEIGHT_SUFFIXES
from studio.engine.models.registry import ModelInfo, folder_size, read_json

# Pipelines the engine runs, by the `_class_name` in model_index.json.
SD_PIPELINES = {
    "StableDiffusionPipeline",
    "StableDiffusionImg2ImgPipeline",
    "StableDiffusionInpaintPipeline",
    "StableDiffusionXLPipeline",
    "StableDiffusionXLImg2ImgPipeline",
    "StableDiffusionXLInpaintPipeline",
}
COMPONENT_KINDS = {"ControlNetModel": "controlnet", "AutoencoderTiny": "taesd"}


def _sd_family(folder: Path, index: dict) -> str:
    """SD 1.x and 2.x differ by the text encoder width the UNet attends to (768 vs 1024)."""
    if "XL" in index.get("_class_name", "") or "text_encoder_2" in index:
        return "sdxl"
    unet_cfg = folder / "unet" / "config.json"
    if not unet_cfg.is_file():
        return "?"
    width = read_json(unet_cfg).get("cross_attention_dim")
    # OpenCLIP text towers (SD 2.x) use GELU; OpenAI's CLIP-L (SD 1.x) uses quick GELU.
    text_cfg = folder / "text_encoder" / "config.json"
    act = read_json(text_cfg).get("hidden_act") if text_cfg.is_file() else None
    return "sd2" if width == 1024 or act == "gelu" else "sd1"


def _folder_variant(folder: Path, index: dict) -> str:
    """Tags read from the component configs: 9-channel UNet, refiner, prediction type, few-step."""
    tags = []
    unet_cfg = folder / "unet" / "config.json"
    if unet_cfg.is_file() and read_json(unet_cfg).get("in_channels") == 9:
        tags.append("inpaint")
    if "XL" in index.get("_class_name", "") and not (index.get("text_encoder") or [None])[0]:
        tags.append("refiner")
    sched_cfg = folder / "scheduler" / "scheduler_config.json"
    if sched_cfg.is_file():
        sched = read_json(sched_cfg)
        if sched.get("prediction_type") == "v_prediction":
            tags.append("v-prediction")
        if sched.get("_class_name") == "LCMScheduler":
            tags.append("lcm")
        elif sched.get("timestep_spacing") == "trailing":
            tags.append("turbo")
    return ",".join(tags)


def _required_parts(index: dict) -> list[str]:
    return [name for name, value in index.items() if isinstance(value, list) and value[0]]


def _component_folder(folder: Path) -> ModelInfo:
    """A ControlNet or TAESD (AutoencoderTiny) folder: config.json + weights."""
    config = read_json(folder / "config.json")
    class_name = config.get("_class_name", "?")
    kind = COMPONENT_KINDS.get(class_name, "unknown")
    size = folder_size(folder)
    problem = None if kind != "unknown" else f"{class_name} folders are not supported"
    if kind != "unknown" and not any(folder.glob("*.safetensors")):
        problem = "no .safetensors weights in the folder"
    family = "?"
    if kind == "controlnet":
        family = {768: "sd1", 1024: "sd2", 2048: "sdxl"}.get(config.get("cross_attention_dim"), "?")
    elif kind == "taesd":
        family = {4: "sd1|sdxl", 16: "sd3|flux"}.get(config.get("latent_channels"), "?")
    return ModelInfo(folder.name, str(folder), kind, family, "diffusers", size, problem)


def inspect_diffusers_folder(folder: Path) -> ModelInfo | None:
    """A diffusers pipeline folder (model_index.json) or a component folder (config.json)."""
    index_path = folder / "model_index.json"
    if not index_path.is_file() and (folder / "config.json").is_file():
        return _component_folder(folder)
    if not index_path.is_file():
        return None
    index = read_json(index_path)
    class_name = index.get("_class_name", "?")
    size = folder_size(folder)
    if class_name in SD_PIPELINES:
        missing = [c for c in _required_parts(index) if not (folder / c).is_dir()]
        if not _required_parts(index):
            missing = ["unet", "vae", "scheduler"]
        problem = f"missing parts: {', '.join(missing)}" if missing else None
        family = _sd_family(folder, index)
        variant = _folder_variant(folder, index) if not missing else ""
        info = ModelInfo(
            folder.name, str(folder), "sd-pipeline", family, "diffusers", size, problem, variant
        )
        return with_settings(info)
    return ModelInfo(
        folder.name,
        str(folder),
        "unknown",
        "?",
        "diffusers",
        size,
        f"{class_name} models are not supported yet",
    )


def inspect_sd_file(path: Path) -> ModelInfo | None:
    """A single SD-family weight file (checkpoint, ControlNet, LoRA, TAESD), by its keys and
    shapes (pickles read weights-only); an "unknown" ModelInfo when no SD part is in it."""
    from studio.engine.models.checkpoints import key_shapes
    from studio.engine.models.detect import detect

    path = Path(path)
    size = path.stat().st_size
    if path.suffix.lower() not in WEIGHT_SUFFIXES:
        return None
    shapes, metadata = key_shapes(path)
    found = detect(shapes, metadata)
    info = ModelInfo(
        path.name,
        str(path),
        found.kind,
        found.family,
        "single-file",
        size,
        found.problem,
        found.variant,
    )
    if info.kind != "sd-pipeline" or not info.usable:
        return info
    from studio.engine.models.settings import model_settings

    settings = model_settings(path)
    if info.family == "sd2" and not info.has("v-prediction") and settings.prediction is None:
        info = _sd2_prediction(info, path, shapes)
    if not (info.has("turbo") or info.has("lcm")) and settings.few_step is None:
        info = _note(info, "Turbo/LCM cannot be told from the weights: run as a normal model "
                     "(set it in the model's settings if it is one).")  # fmt: skip
    return with_settings(info, settings)


def _tagged(info: ModelInfo, add: tuple[str, ...] = (), drop: tuple[str, ...] = ()) -> ModelInfo:
    tags = [t for t in info.variant.split(",") if t and t not in drop]
    tags += [t for t in add if t not in tags]
    return replace(info, variant=",".join(tags))


def _note(info: ModelInfo, text: str) -> ModelInfo:
    return replace(info, notes=(*info.notes, text))


def _sd2_prediction(info: ModelInfo, path: Path, shapes: dict) -> ModelInfo:
    """SD 2.x file with no marker: an A1111 .yaml, a config folder, or else weight statistics."""
    from studio.engine.models.checkpoints import tensor_values
    from studio.engine.models.detect import guess_v_prediction, v_prediction_probe

    if _yaml_says_v(path):
        return _note(_tagged(info, ("v-prediction",)), f"v-prediction from {path.stem}.yaml.")
    if path.with_name(path.stem + ".config").is_dir():
        return info  # the artist's config folder holds the scheduler (and its prediction type)
    if info.has("inpaint"):  # Stability's SD 2.x inpainting model is an epsilon model
        return _note(info, "SD 2.x inpainting model: epsilon prediction assumed.")
    probe = v_prediction_probe(shapes)
    if probe is None:
        return _note(info, "SD 2.x prediction type unknown: assumed epsilon.")
    values = tensor_values(path, [probe]).get(probe)
    if values is None:
        return _note(info, "SD 2.x prediction type unknown: assumed epsilon.")
    is_v, spread = guess_v_prediction(values)
    kind = "v-prediction" if is_v else "epsilon"
    info = _tagged(info, ("v-prediction",)) if is_v else info
    return _note(
        info,
        f"SD 2.x prediction type guessed from the weights: {kind} (spread {spread:.3f}, "
        "threshold 0.09). If pictures come out grey or burnt, set it in the model's settings.",
    )


def with_settings(info: ModelInfo, settings=None) -> ModelInfo:
    """Apply the artist's per-model settings (model_settings.py) to the detected tags."""
    from studio.engine.models.settings import model_settings

    settings = settings if settings is not None else model_settings(info.path)
    if settings.prediction == "v":
        info = _note(_tagged(info, ("v-prediction",)), "v-prediction set in the model's settings.")
    elif settings.prediction == "epsilon":
        info = _note(_tagged(info, drop=("v-prediction",)), "epsilon set in the model's settings.")
    if settings.few_step is not None:
        add = () if settings.few_step == "off" else (settings.few_step,)
        info = _tagged(info, add, drop=("turbo", "lcm"))
        info = _note(info, f"Few-step mode {settings.few_step!r} set in the model's settings.")
    return info


def _yaml_says_v(path: Path) -> bool:
    """A1111's convention: `model.yaml` next to the checkpoint with `parameterization: "v"`."""
    yaml = path.with_suffix(".yaml")
    if not yaml.is_file():
        return False
    text = yaml.read_text(encoding="utf-8", errors="replace")
    return re.search(r"parameterization:\s*[\"']?v[\"']?\s*$", text, re.MULTILINE) is not None
