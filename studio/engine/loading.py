"""Safe, offline loading of diffusers pipelines (safetensors only, local files only), cached."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.engine.errors import ModelLoadError
from studio.engine.registry import ModelInfo, inspect_folder

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


@dataclass
class LoadedPipeline:
    """A loaded txt2img pipeline plus the img2img view sharing its weights."""

    info: ModelInfo
    device: str
    dtype: str
    txt2img: Any
    img2img: Any
    base_scheduler_config: Any

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.info.path, self.device, self.dtype)


def load_sd_pipeline(path: str, device: str, dtype: str) -> LoadedPipeline:
    """Load a Stable Diffusion 1.x/2.x diffusers folder with no network access."""
    from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline

    info = inspect_folder(Path(path))
    if not info.usable:
        raise ModelLoadError(f"Cannot use {info.name}: {info.problem}.", info.path)
    quiet_libraries()
    try:
        pipe = StableDiffusionPipeline.from_pretrained(
            info.path,
            local_files_only=True,
            use_safetensors=True,
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
            dtype=torch_dtype(dtype),
        )
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"Could not load the model in {info.name}. Its files may be incomplete, or it holds "
            "only pickled weights (.bin/.ckpt); Studio loads .safetensors weights.",
            f"{type(exc).__name__}: {exc}",
        ) from exc
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    img2img = StableDiffusionImg2ImgPipeline(**pipe.components)
    img2img.set_progress_bar_config(disable=True)
    return LoadedPipeline(info, device, dtype, pipe, img2img, pipe.scheduler.config)


class PipelineCache:
    """Keeps the most recently used pipeline; loading another one frees the previous first."""

    def __init__(self) -> None:
        self._current: LoadedPipeline | None = None

    def get(self, path: str, device: str, dtype: str) -> LoadedPipeline:
        key = (str(Path(path)), device, dtype)
        if self._current is not None and self._current.key == key:
            return self._current
        self.clear()
        log.info("loading %s on %s as %s", path, device, dtype)
        self._current = load_sd_pipeline(str(Path(path)), device, dtype)
        return self._current

    def clear(self) -> None:
        if self._current is None:
            return
        device = self._current.device
        self._current = None
        import gc

        gc.collect()
        if device == "cuda":
            import torch

            torch.cuda.empty_cache()
