"""What models exist, what kind each is and where its files are (found by inspecting files)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from studio.engine.errors import ModelLoadError

# Pipelines the engine runs today, by the `_class_name` in model_index.json.
SD_PIPELINES = {"StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline"}
WEIGHT_SUFFIXES = {".safetensors", ".ckpt", ".pt", ".pth", ".bin"}


@dataclass(frozen=True)
class ModelInfo:
    """One model found on disk; `problem` says in plain words why it cannot run, if it cannot."""

    name: str
    path: str
    kind: str  # "sd-pipeline" | "unknown"
    family: str  # "sd1" | "sd2" | "sdxl" | "?"
    format: str  # "diffusers" | "single-file" | "?"
    size_bytes: int
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def label(self) -> str:
        family = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sdxl": "SDXL"}.get(self.family, self.family)
        return f"{self.name} ({family})"


def _folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"Cannot read {path.name} in {path.parent}", str(exc)) from exc


def _sd_family(folder: Path) -> str:
    """SD 1.x and 2.x differ by the text encoder width the UNet attends to (768 vs 1024)."""
    unet_cfg = folder / "unet" / "config.json"
    if not unet_cfg.is_file():
        return "?"
    width = _read_json(unet_cfg).get("cross_attention_dim")
    return "sd2" if width == 1024 else "sd1"


def inspect_folder(folder: Path) -> ModelInfo:
    """Recognise a diffusers folder; raise ModelLoadError saying what is missing."""
    folder = Path(folder)
    index_path = folder / "model_index.json"
    if not folder.is_dir():
        raise ModelLoadError(f"Model folder not found: {folder}")
    if not index_path.is_file():
        raise ModelLoadError(
            f"{folder.name} is not a diffusers model folder (it has no model_index.json).",
            f"Looked in {folder}",
        )
    index = _read_json(index_path)
    class_name = index.get("_class_name", "?")
    size = _folder_size(folder)
    if class_name in SD_PIPELINES:
        missing = [
            c
            for c in ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
            if not (folder / c).is_dir()
        ]
        problem = f"missing parts: {', '.join(missing)}" if missing else None
        return ModelInfo(
            folder.name, str(folder), "sd-pipeline", _sd_family(folder), "diffusers", size, problem
        )
    family = "sdxl" if "XL" in class_name else "?"
    return ModelInfo(
        folder.name,
        str(folder),
        "unknown",
        family,
        "diffusers",
        size,
        f"{class_name} models are not supported yet",
    )


def scan(dirs: list[Path]) -> list[ModelInfo]:
    """Every model directly inside the given folders (a folder may itself be a model)."""
    found: list[ModelInfo] = []
    for base in dirs:
        if not base.is_dir():
            continue
        candidates = [base] if (base / "model_index.json").is_file() else sorted(base.iterdir())
        for entry in candidates:
            if entry.name.startswith("."):
                continue
            if entry.is_dir() and (entry / "model_index.json").is_file():
                try:
                    found.append(inspect_folder(entry))
                except ModelLoadError as exc:
                    found.append(
                        ModelInfo(entry.name, str(entry), "unknown", "?", "?", 0, exc.message)
                    )
            elif entry.is_file() and entry.suffix.lower() in WEIGHT_SUFFIXES:
                found.append(
                    ModelInfo(
                        entry.name,
                        str(entry),
                        "unknown",
                        "?",
                        "single-file",
                        entry.stat().st_size,
                        "single-file checkpoints are not supported yet",
                    )
                )
    return found
