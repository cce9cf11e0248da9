"""Offline config folders for single-file checkpoints: shipped JSON + derived tokenizer files."""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

from studio.engine.models.clip_vocab import write_tokenizer_files
from studio.engine.models.registry import ModelInfo
from studio.engine.models.validate import check_config_folder
from studio.errors import ModelLoadError
from studio.io.paths import user_cache_dir
from studio.resources import RESOURCES

log = logging.getLogger(__name__)
SHIPPED = RESOURCES / "sd-configs"
SIDECAR_SUFFIX = ".config"  # `model.safetensors` may bring `model.config/` (a weightless folder)


def config_name(info: ModelInfo) -> str:
    """Which shipped config folder fits a checkpoint: family plus inpaint/refiner/v tags."""
    if info.kind == "controlnet":
        return f"controlnet-{info.family}"
    if info.kind == "taesd":
        return "taesd"
    if info.family == "sdxl":
        if info.has("refiner"):
            return "sdxl-refiner"
        return "sdxl-inpaint" if info.has("inpaint") else "sdxl"
    if info.has("inpaint"):
        return f"{info.family}-inpaint"
    if info.family == "sd2" and info.has("v-prediction"):
        return "sd2-v"
    return info.family


def sidecar_folder(path: Path) -> Path | None:
    """A config folder the artist placed next to the file (`<stem>.config/`), if any."""
    path = Path(path)
    candidate = path.with_name(path.stem + SIDECAR_SUFFIX)
    return candidate if candidate.is_dir() else None


def _stamp(source: Path) -> str:
    digest = hashlib.sha256()
    for f in sorted(source.rglob("*.json")):
        digest.update(str(f.relative_to(source)).encode() + f.read_bytes())
    return digest.hexdigest()[:16]


def materialise(name: str, cache: Path | None = None) -> Path:
    """The shipped folder `name` copied to the cache with tokenizer vocab/merges filled in."""
    source = SHIPPED / name
    if not source.is_dir():
        raise ModelLoadError(f"Studio has no configuration for {name!r} models.", str(source))
    target = (cache or user_cache_dir() / "sd-configs") / name
    stamp = _stamp(source)
    marker = target / ".complete"
    if marker.is_file() and marker.read_text() == stamp:
        return target
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)
    for tokenizer in sorted(target.glob("tokenizer*")):
        write_tokenizer_files(tokenizer)
    marker.write_text(stamp)
    log.info("prepared offline config folder %s", target)
    return target


def config_folder(info: ModelInfo) -> Path:
    """The folder to pass as `config=`: the sidecar if present, else the shipped one."""
    sidecar = sidecar_folder(Path(info.path))
    if sidecar is not None:
        check_config_folder(sidecar)  # the artist's configs are checked before diffusers reads them
        return sidecar
    return materialise(config_name(info))
