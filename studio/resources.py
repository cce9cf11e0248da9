"""Where the data Studio ships lives: `resources/` and the bundled `models/` beside the package."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESOURCES = REPO_ROOT / "resources"  # palettes, model configs, the recommended-models list
BUNDLED_MODELS = REPO_ROOT / "models"  # the starter models this project trains
