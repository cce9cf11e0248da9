"""Per-model settings for what the weights cannot tell (prediction type, Turbo/LCM), by the artist.

Two places, read in this order (the first that sets a field wins):
1. Studio's user data, `model-settings.json`: {"<absolute model path>": {"prediction": …}}.
   This is what the GUI writes with `set_model_settings`.
2. A sidecar next to the model, `<model file or folder name>.studio.json`, with the same
   fields; it travels with the model when the artist shares it.
Fields: "prediction": "epsilon" | "v"; "few_step": "off" | "turbo" | "lcm". Absent = automatic.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from studio.errors import InvalidRequestError, ModelLoadError

PREDICTIONS = ("epsilon", "v")
FEW_STEP = ("off", "turbo", "lcm")
SETTINGS_FILE = "model-settings.json"
SIDECAR_SUFFIX = ".studio.json"


@dataclass(frozen=True)
class ModelSettings:
    """The artist's choices for one model; None leaves the field to Studio's detection."""

    prediction: str | None = None  # "epsilon" | "v"
    few_step: str | None = None  # "off" | "turbo" | "lcm"

    def __post_init__(self) -> None:
        if self.prediction not in (None, *PREDICTIONS):
            raise InvalidRequestError(
                f"Prediction type must be one of {', '.join(PREDICTIONS)}, got {self.prediction!r}."
            )
        if self.few_step not in (None, *FEW_STEP):
            raise InvalidRequestError(
                f"Few-step mode must be one of {', '.join(FEW_STEP)}, got {self.few_step!r}."
            )

    @property
    def empty(self) -> bool:
        return self.prediction is None and self.few_step is None


def settings_file() -> Path:
    from studio.io.paths import user_data_dir

    return user_data_dir() / SETTINGS_FILE


def model_key(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())


def sidecar_file(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_json_object(path: Path) -> dict:
    """A JSON file holding an object ({} when the file is absent); ModelLoadError if not."""
    if not path.is_file():
        return {}
    from studio.io.safe_json import read_json_file

    try:
        data = read_json_file(path, max_bytes=4 * 2**20)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path.name} is not valid JSON.", str(exc)) from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path.name} must hold a JSON object, found {type(data).__name__}.")
    return data


def _from_dict(data: object, where: Path) -> ModelSettings:
    if not isinstance(data, dict):
        raise ModelLoadError(f"The settings in {where.name} must be a JSON object.")
    try:
        return ModelSettings(data.get("prediction"), data.get("few_step"))
    except InvalidRequestError as exc:
        raise ModelLoadError(f"{where.name}: {exc.message}", str(where)) from exc


def model_settings(path: str | Path) -> ModelSettings:
    """The settings in force for the model at `path` (user data first, then its sidecar)."""
    stored = read_json_object(settings_file()).get(model_key(path))
    mine = _from_dict(stored, settings_file()) if stored is not None else ModelSettings()
    sidecar = sidecar_file(path)
    theirs = (
        _from_dict(read_json_object(sidecar), sidecar) if sidecar.is_file() else ModelSettings()
    )
    return ModelSettings(mine.prediction or theirs.prediction, mine.few_step or theirs.few_step)


def set_model_settings(path: str | Path, settings: ModelSettings) -> None:
    """Store (or, with an empty ModelSettings, forget) the artist's settings for one model."""
    from studio.io.atomic import write_atomic

    target = settings_file()
    data = read_json_object(target)
    key = model_key(path)
    if settings.empty:
        data.pop(key, None)
    else:
        data[key] = {k: v for k, v in asdict(settings).items() if v is not None}
    text = json.dumps(data, indent=1, sort_keys=True).encode("utf-8")
    write_atomic(target, lambda handle: handle.write(text))
