"""Safe, offline loading of diffusers pipelines (folders and single files), held in an LRU cache."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.engine.memory.cache import ModelCache, module_bytes
from studio.engine.models.registry import ModelInfo, inspect_folder
from studio.engine.models.validate import check_config_folder
from studio.errors import ModelLoadError

log = logging.getLogger(__name__)


def quiet_libraries() -> None:
    """No console progress bars or chatter from diffusers/transformers inside the app."""
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    dlog.disable_progress_bar()
    tlog.disable_progress_bar()
    dlog.set_verbosity_error()
    tlog.set_verbosity_error()


def torch_dtype(name: str):
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


# family -> (txt2img, img2img, inpaint, controlnet, controlnet-inpaint) diffusers class names
PIPELINES = {
    "sd": (
        "StableDiffusionPipeline",
        "StableDiffusionImg2ImgPipeline",
        "StableDiffusionInpaintPipeline",
        "StableDiffusionControlNetPipeline",
        "StableDiffusionControlNetInpaintPipeline",
        "StableDiffusionControlNetImg2ImgPipeline",
    ),
    "sdxl": (
        "StableDiffusionXLPipeline",
        "StableDiffusionXLImg2ImgPipeline",
        "StableDiffusionXLInpaintPipeline",
        "StableDiffusionXLControlNetPipeline",
        "StableDiffusionXLControlNetInpaintPipeline",
        "StableDiffusionXLControlNetImg2ImgPipeline",
    ),
}
MODES = ("txt2img", "img2img", "inpaint", "controlnet", "controlnet-inpaint", "controlnet-img2img")


@dataclass
class LoadedPipeline:
    """A loaded pipeline plus views for the other modes sharing its weights."""

    info: ModelInfo
    device: str
    dtype: str
    txt2img: Any
    img2img: Any
    base_scheduler_config: Any
    memory_plan: Any = None  # the MemoryPlan last switched on (None: the pipeline as loaded)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.info.path, self.device, self.dtype)

    @property
    def is_refiner(self) -> bool:
        return self.info.has("refiner")

    def view(self, mode: str, controlnet: Any = None) -> Any:
        """The pipeline for `mode`, built from the loaded components (no extra weights)."""
        if mode == "txt2img" and not self.is_refiner:
            return self.txt2img
        if mode in ("img2img", "txt2img"):
            return self.img2img
        return build_view(self.txt2img, self.info, mode, controlnet)


def build_view(pipe: Any, info: ModelInfo, mode: str, controlnet: Any = None) -> Any:
    """Another pipeline class over the same components (img2img, inpaint, ControlNet…)."""
    import diffusers

    group = "sdxl" if info.family == "sdxl" else "sd"
    cls = getattr(diffusers, PIPELINES[group][MODES.index(mode)])
    components = {k: v for k, v in pipe.components.items() if k != "controlnet"}
    if "controlnet" in mode:
        components["controlnet"] = controlnet
    names = set(cls._get_signature_keys(cls)[0]) | set(cls._optional_components)
    view = cls(**{k: v for k, v in components.items() if k in names})
    view.set_progress_bar_config(disable=True)
    return view


def _pipeline_class(info: ModelInfo):
    import diffusers

    if info.family == "sdxl":
        name = PIPELINES["sdxl"][1 if info.has("refiner") else 0]
    else:
        name = PIPELINES["sd"][0]
    return getattr(diffusers, name)


def pickle_allowlist():
    """Diffusers reads .ckpt weights-only; our narrow allowlist applies inside this context."""
    import torch

    from studio.engine.models.checkpoints import allowed_globals

    return torch.serialization.safe_globals(allowed_globals())


def _load_weights(info: ModelInfo, cls, dtype: str):
    kwargs: dict[str, Any] = dict(local_files_only=True, dtype=torch_dtype(dtype))
    if info.family != "sdxl":
        kwargs.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    if info.format == "diffusers":
        return cls.from_pretrained(info.path, use_safetensors=True, **kwargs)
    from studio.engine.models.configs import config_folder

    config = config_folder(info)
    guard = pickle_allowlist() if Path(info.path).suffix != ".safetensors" else None
    with guard or contextlib.nullcontext():
        return cls.from_single_file(info.path, config=str(config), **kwargs)


def load_sd_pipeline(path: str, device: str, dtype: str) -> LoadedPipeline:
    """Load an SD 1.x/2.x/XL folder or single file with no network access."""
    info = inspect_folder(Path(path))
    if not info.usable:
        raise ModelLoadError(f"Cannot use {info.name}: {info.problem}.", info.path)
    if info.kind != "sd-pipeline":
        raise ModelLoadError(
            f"{info.name} is a {info.kind} file, not a full model; choose it as a {info.kind}.",
            info.path,
        )
    if info.format == "diffusers":
        check_config_folder(Path(info.path))  # types and sizes, before diffusers is even imported
    quiet_libraries()
    try:
        pipe = _load_weights(info, _pipeline_class(info), dtype)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        if info.format == "single-file":
            message = (
                f"Could not load the checkpoint {info.name}: its weights do not fit the "
                f"{info.family} layout. Put a matching config folder next to it as "
                f"{Path(info.path).stem}.config/."
            )
        else:
            message = (
                f"Could not load the model in {info.name}. Its files may be incomplete, or it "
                "holds only pickled weights (.bin/.ckpt); Studio loads .safetensors weights."
            )
        raise ModelLoadError(message, f"{type(exc).__name__}: {exc}") from exc
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    _apply_prediction_setting(pipe, info)
    img2img = pipe if info.has("refiner") else build_view(pipe, info, "img2img")
    return LoadedPipeline(info, device, dtype, pipe, img2img, pipe.scheduler.config)


def _apply_prediction_setting(pipe: Any, info: ModelInfo) -> None:
    """The prediction type the registry settled on wins over the config folder's default:
    the artist's model setting first, else a v-prediction tag (file marker, .yaml, weight
    guess), which the shipped SD 1.x/SDXL configs (epsilon) would otherwise silently drop."""
    from studio.engine.models.settings import model_settings

    setting = model_settings(info.path).prediction
    wanted = {"v": "v_prediction", "epsilon": "epsilon"}.get(setting or "")
    if wanted is None and info.has("v-prediction"):
        wanted = "v_prediction"
    if wanted and pipe.scheduler.config.get("prediction_type") != wanted:
        pipe.scheduler = type(pipe.scheduler).from_config(
            pipe.scheduler.config, prediction_type=wanted
        )


class PipelineCache(ModelCache):
    """Loaded pipelines (and components) by (path, device, dtype), bounded by a memory budget."""

    def get(self, path: str, device: str, dtype: str) -> LoadedPipeline:
        from studio.engine.models.settings import model_settings

        # changed model settings give another pipeline (scheduler and tags differ)
        key = (str(Path(path)), device, dtype, model_settings(path))
        estimate = _estimate_bytes(Path(path), dtype)

        def load() -> tuple[LoadedPipeline, int]:
            log.info("loading %s on %s as %s", path, device, dtype)
            loaded = load_sd_pipeline(str(Path(path)), device, dtype)
            return loaded, module_bytes(loaded.txt2img)

        return self.fetch(key, estimate, load, device)

    def resident_bytes(self, path: str, device: str, dtype: str) -> int:
        """Bytes of `path`'s pipeline already loaded for (device, dtype); 0 if not loaded."""
        want = (str(Path(path)), device, dtype)
        return sum(size for key, size in self.sizes().items() if tuple(key[:3]) == want)

    def component(self, key: tuple, load: Callable[[], Any]) -> Any:
        """A ControlNet, refiner or preview decoder, cached under the same budget."""
        device = key[2] if len(key) > 2 else "cpu"

        def loader() -> tuple[Any, int]:
            value = load()
            return value, module_bytes(value)

        path = Path(key[1])
        return self.fetch(key, _estimate_bytes(path, key[-1]), loader, device)


def _estimate_bytes(path: Path, dtype: str) -> int:
    """Memory a model will take, guessed from its files before loading (fp32 files -> dtype)."""
    if path.is_dir():
        size = sum(f.stat().st_size for f in path.rglob("*.safetensors"))
    else:
        size = path.stat().st_size if path.exists() else 0
    return size // 2 if dtype in ("float16", "bfloat16") else size
