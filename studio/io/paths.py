"""Where Studio keeps user data, models, logs and caches (per platform, overridable by env)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from studio.resources import BUNDLED_MODELS

APP_NAME = "studio"


def _home_override() -> Path | None:
    value = os.environ.get("STUDIO_HOME")
    return Path(value).expanduser() if value else None


def user_data_dir() -> Path:
    """Per-user data folder: $STUDIO_HOME, else the platform's usual place."""
    override = _home_override()
    if override is not None:
        return override
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "Studio"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Studio"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_NAME


def user_cache_dir() -> Path:
    override = _home_override()
    if override is not None:
        return override / "cache"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "Studio"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "Studio"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP_NAME


def user_models_dir() -> Path:
    return user_data_dir() / "models"


def log_dir() -> Path:
    return user_data_dir() / "logs"


def bundled_models_dir() -> Path | None:
    """The `models/` folder of a source checkout, when Studio runs from one.

    STUDIO_BUNDLED_MODELS=0 leaves it out (tests of the "no model installed" state)."""
    if os.environ.get("STUDIO_BUNDLED_MODELS", "") == "0":
        return None
    candidate = BUNDLED_MODELS
    return candidate if candidate.is_dir() else None


def model_search_dirs() -> list[Path]:
    """Folders scanned for models, most specific first, without duplicates."""
    dirs: list[Path] = []
    extra = os.environ.get("STUDIO_MODELS_PATH", "")
    dirs += [Path(p).expanduser() for p in extra.split(os.pathsep) if p]
    bundled = bundled_models_dir()
    if bundled is not None:
        dirs.append(bundled)
    dirs.append(user_models_dir())
    seen: set[Path] = set()
    unique = []
    for d in dirs:
        key = d.resolve() if d.exists() else d
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique
