"""What models exist, what kind each is and where its files are: each model family recognises
its own files (studio/engine/families.py); this module walks the folders and asks them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from studio.engine.models.checkpoints import WEIGHT_SUFFIXES
from studio.errors import ModelLoadError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelInfo:
    """One model found on disk; `problem` says in plain words why it cannot run, if it cannot."""

    name: str
    path: str
    kind: str  # "sd-pipeline" | "controlnet" | "lora" | "taesd" | "vae" | "gan" | "unknown"
    family: str  # the architecture: "sd1" | "sd2" | "sdxl" | "starter" | "spade" | … | "?"
    format: str  # "diffusers" | "single-file" | "starter" | "?"
    size_bytes: int
    problem: str | None = None
    variant: str = ""  # comma-separated tags: inpaint, refiner, v-prediction, turbo, lcm
    notes: tuple[str, ...] = ()  # assumptions and settings behind the tags, for the artist
    starter: bool = False  # one of the project's own small starter models
    owner: str = ""  # the model family (engine folder) that recognised it: "diffusion", …

    def has(self, tag: str) -> bool:
        return tag in self.variant.split(",")

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def label(self) -> str:
        family = {"sd1": "SD 1.x", "sd2": "SD 2.x", "sdxl": "SDXL", "starter": "Starter"}.get(
            self.family, self.family
        )
        tags = f", {self.variant}" if self.variant else ""
        return f"{self.name} ({family}{tags})"


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def read_json(path: Path) -> dict:
    """A model's JSON config as a dict: size, depth and the types of the fields Studio reads
    are checked first (engine/models/validate.py); ModelLoadError in plain words otherwise."""
    from studio.engine.models.validate import read_config

    return read_config(path)


def _unknown(path: Path, problem: str) -> ModelInfo:
    fmt = "diffusers" if path.is_dir() else "single-file"
    size = path.stat().st_size if path.is_file() else 0
    return ModelInfo(path.name, str(path), "unknown", "?", fmt, size, problem)


def inspect_folder(path: str | Path) -> ModelInfo:
    """Recognise a model folder or file: the first family that knows it says what it is
    (families.inspect_model). Raises ModelLoadError when the path is missing or unreadable."""
    from studio.engine.families import inspect_model

    path = Path(path)
    if not path.exists():
        raise ModelLoadError(f"Model folder not found: {path}")
    info = inspect_model(path)
    if info is not None:
        return info
    if path.is_dir():
        raise ModelLoadError(
            f"{path.name} is not a diffusers model folder (it has no model_index.json).",
            f"Looked in {path}",
        )
    return _unknown(path, "not a weight file")


def inspect_file(path: str | Path) -> ModelInfo:
    """A single weight file (see inspect_folder)."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"Model file not found: {path}")
    return inspect_folder(path)


def _is_model_folder(path: Path, markers: frozenset[str]) -> bool:
    return any((path / name).is_file() for name in markers)


def _named_weights(folder: Path, suffixes: frozenset[str]) -> Path | None:
    """`NAME/NAME.safetensors` (a single-file model in a folder of its own, beside its sidecar
    and card, like models/starter-spade/): the weight file, else None."""
    for suffix in sorted(suffixes):
        candidate = folder / f"{folder.name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _candidates(base: Path, markers: frozenset[str], suffixes: frozenset[str]) -> list[Path]:
    """The entries of `base` that may be models (a folder may itself be one)."""
    if _is_model_folder(base, markers):
        return [base]
    out = []
    for entry in sorted(base.iterdir()):
        if entry.name.startswith(".") or entry.name.endswith(".partial"):
            continue
        if entry.is_dir() and not _is_model_folder(entry, markers):
            entry = _named_weights(entry, suffixes)
            if entry is None:
                continue
        if entry.is_file() and entry.suffix.lower() not in suffixes:
            continue
        out.append(entry)
    return out


def scan(dirs: list[Path], kinds: tuple[str, ...] | None = ("sd-pipeline",)) -> list[ModelInfo]:
    """Models directly inside the given folders (a folder may itself be a model).

    `kinds` keeps only those kinds plus everything unusable (so the reason can be shown);
    None keeps all (ControlNets, LoRAs, TAESD too).
    """
    from studio.engine.families import model_markers, model_suffixes

    markers, suffixes = model_markers(), model_suffixes() | frozenset(WEIGHT_SUFFIXES)
    found: list[ModelInfo] = []
    for base in dirs:
        base = Path(base)
        if not base.is_dir():
            continue
        for entry in _candidates(base, markers, suffixes):
            info = _inspect_isolated(entry)
            if kinds is None or info.kind in kinds or not info.usable:
                found.append(info)
    return found


def _inspect_isolated(entry: Path) -> ModelInfo:
    """One entry of a scan: whatever is wrong with it, it is listed as broken with the reason
    and never hides the others or stops startup (the one place a bad file is contained)."""
    try:
        return inspect_folder(entry)
    except ModelLoadError as exc:
        problem = exc.message
    except Exception as exc:  # an inspector's own bug must not take the whole list down
        log.exception("inspecting %s failed", entry)
        problem = f"Studio could not inspect it ({type(exc).__name__}; see the log)"
    fmt = "diffusers" if entry.is_dir() else "single-file"
    try:
        size = entry.stat().st_size if entry.is_file() else 0
    except OSError:
        size = 0
    return ModelInfo(entry.name, str(entry), "unknown", "?", fmt, size, problem)


def pick_default(models: list[ModelInfo]) -> ModelInfo | None:
    """The model Studio chooses when the artist has not: a bundled starter (it runs anywhere,
    offline), else the first usable prompt model found. The window and `studio generate` both
    use this."""
    usable = [m for m in models if m.usable and m.kind == "sd-pipeline"]
    return next((m for m in usable if m.starter), usable[0] if usable else None)
