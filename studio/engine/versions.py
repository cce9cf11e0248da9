"""The library versions a recipe records, so a picture says what made it."""

from __future__ import annotations

import importlib

import studio

DIFFUSION_LIBRARIES = ("torch", "diffusers", "transformers", "peft")


def versions(libraries: tuple[str, ...] = DIFFUSION_LIBRARIES) -> dict[str, str]:
    """{"studio": …, library: version} for each library that is installed (imported lazily)."""
    out = {"studio": studio.__version__}
    for name in libraries:
        try:
            out[name] = importlib.import_module(name).__version__
        except ImportError:
            continue
    return out
