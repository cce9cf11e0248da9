"""Per-document generation settings, as the prompt panel edits them."""

from __future__ import annotations

from dataclasses import dataclass

from studio.engine.diffusion.samplers import DEFAULT_SAMPLER


@dataclass
class PromptSettings:
    """What the artist has set; copied into a frozen request at Generate time."""

    model_path: str = ""
    prompt: str = ""
    negative_prompt: str = ""
    steps: int = 20
    guidance_scale: float = 7.0
    seed: int = 0
    random_seed: bool = True
    width: int = 512
    height: int = 512
    sampler: str = DEFAULT_SAMPLER
    img2img: bool = False
    strength: float = 0.75
    device: str | None = None
    dtype: str | None = None
