"""First run: does Studio run on its bundled starter models only, and what can they do."""

from __future__ import annotations

from collections.abc import Iterable

from studio.engine.models.registry import ModelInfo
from studio.errors import ModelLoadError

PICTURE_KINDS = ("sd-pipeline", "gan")  # models that make pictures on their own


def runs_on_starters(models: Iterable[ModelInfo]) -> bool:
    """True when a starter model can run and no other picture-making model is installed."""
    usable = [m for m in models if m.usable and m.kind in PICTURE_KINDS]
    return bool(usable) and all(m.starter for m in usable)


def starter_message(models: Iterable[ModelInfo]) -> str:
    """What the first-run banner says, naming only the starter models that are there."""
    starters = [m for m in models if m.usable and m.starter]
    diffusion = any(m.kind == "sd-pipeline" for m in starters)
    spade = any(m.kind == "gan" for m in starters)
    can = []
    if diffusion:
        can += [
            "make a picture from painted labels (Paint)",
            "repaint a masked area (Inpaint)",
            "follow prompts of landscape words such as sunset, night, winter, foggy, lake, "
            "mountains (Prompt)",
        ]
    if spade:
        can.insert(0, "draft live while you paint labels")
    size = _native_size(starters)
    return (
        "Studio is running on its small bundled starter models (offline). They can "
        + _join(can)
        + "."
        + size
        + " For Stable Diffusion models, open the model manager."
    )


def _native_size(starters: list[ModelInfo]) -> str:
    """ " They work at 128×128 …" from the starter diffusion's own config, if it says."""
    from studio.engine.starter.model import read_starter_config

    for m in starters:
        if m.kind != "sd-pipeline":
            continue
        try:
            n = read_starter_config(m.path).native_size
        except ModelLoadError:
            continue
        return f" They work at {n}×{n} and are scaled up to the canvas."
    return ""


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
