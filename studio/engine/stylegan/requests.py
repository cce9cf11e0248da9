"""The StyleGAN family's request: one picture from a seed (plain data, numpy only)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from studio.errors import InvalidRequestError

NOISE_MODES = ("const", "random", "none")
MIX_RANGES = ("coarse", "middle", "fine")  # 4x4–8x8, 16x16–32x32, 64x64 and up


@dataclass(frozen=True)
class StyleGANRequest:
    """Sample a StyleGAN2 generator: z from `seed` as NVIDIA's gen_images.py draws it,
    truncation ψ towards the average W, a class for conditional models, the noise mode, and
    optionally the styles of `mix_layers` taken from a second seed (style mixing)."""

    model_path: str
    seed: int = 0
    truncation: float = 1.0  # ψ: 1 = as trained, 0 = the average picture
    class_index: int | None = None
    noise_mode: str = "const"  # "const" (NVIDIA's default) | "random" (seeded) | "none"
    mix_seed: int | None = None
    mix_layers: str = "fine"  # "coarse" | "middle" | "fine" | "A-B" (W indices, inclusive)
    translate: tuple[float, float] = (0.0, 0.0)  # StyleGAN3: pan, in units of the picture
    rotate: float = 0.0  # StyleGAN3: degrees
    # the Explore tab's seed walks and variations: W moves towards the variation seed's W
    variation_seed: int | None = None
    variation_strength: float = 0.0  # 0 = this seed's W, 1 = the variation seed's
    batch_size: int = 1  # one picture per request (the fields Explore sets on every request)
    batch_count: int = 1
    device: str | None = None

    def __post_init__(self) -> None:
        pan = tuple(float(v) for v in self.translate)
        if len(pan) != 2 or not all(math.isfinite(v) for v in (*pan, float(self.rotate))):
            raise InvalidRequestError(f"Pan is two numbers (x, y), not {self.translate!r}.")
        object.__setattr__(self, "translate", pan)
        if (self.batch_size, self.batch_count) != (1, 1):
            raise InvalidRequestError("A StyleGAN request makes one picture; queue one per seed.")
        if self.noise_mode not in NOISE_MODES:
            raise InvalidRequestError(
                f"The noise mode is one of {', '.join(NOISE_MODES)}, not “{self.noise_mode}”."
            )
        if not -2.0 <= float(self.truncation) <= 2.0:
            raise InvalidRequestError(f"Truncation ψ is between -2 and 2, not {self.truncation}.")
        if self.mix_seed is not None:
            mix_range(self.mix_layers, 18)  # the spelling is checked now, the range at run time

    @property
    def mode(self) -> str:
        return "sample"

    def describe(self) -> dict[str, Any]:
        """The request as plain JSON-able values (the recipe)."""
        recipe: dict[str, Any] = {
            "mode": "sample",
            "model": self.model_path,
            "seed": self.seed,
            "truncation": self.truncation,
            "noise_mode": self.noise_mode,
        }
        if self.class_index is not None:
            recipe["class"] = self.class_index
        if self.mix_seed is not None:
            recipe.update(mix_seed=self.mix_seed, mix_layers=self.mix_layers)
        if self.variation_seed is not None and self.variation_strength:
            recipe.update(
                variation_seed=self.variation_seed, variation_strength=self.variation_strength
            )
        if self.translate != (0.0, 0.0) or self.rotate:
            recipe.update(translate=list(self.translate), rotate=self.rotate)
        return recipe


def mix_range(spec: str, num_ws: int) -> range:
    """Which W vectors come from the mixing seed: a named band or "A-B" (inclusive)."""
    spec = str(spec).strip().lower()
    if spec == "coarse":
        return range(0, min(4, num_ws))
    if spec == "middle":
        return range(min(4, num_ws), min(8, num_ws))
    if spec == "fine":
        return range(min(8, num_ws), num_ws)
    m = re.fullmatch(r"(\d+)-(\d+)", spec) or re.fullmatch(r"(\d+)", spec)
    if m is None:
        raise InvalidRequestError(
            f"Mix layers are coarse, middle, fine or a range such as 0-6, not “{spec}”."
        )
    start, end = int(m[1]), int(m[m.lastindex or 1])
    if start > end or end >= num_ws:
        raise InvalidRequestError(f"Mix layers {spec} are outside this model's 0-{num_ws - 1}.")
    return range(start, end + 1)


def exact_fields(request: StyleGANRequest) -> dict[str, Any]:
    """What Re-run exactly needs beside the recipe: the model file's path and hash."""
    from pathlib import Path

    from studio.engine.models.checkpoints import file_sha256

    path = Path(request.model_path)
    return {"model_path": request.model_path,
            "model_sha256": file_sha256(path) if path.is_file() else None}  # fmt: skip


def request_from_recipe(recipe: dict[str, Any]) -> StyleGANRequest:
    """The request a "sample" recipe describes (Re-run exactly); refused when the model file
    is not the one that made it."""
    from pathlib import Path

    from studio.engine.models.checkpoints import file_sha256

    exact = recipe.get("request") or {}
    made_with = exact.get("model_sha256")
    path = Path(str(exact.get("model_path") or recipe.get("model", "")))
    if made_with and (not path.is_file() or file_sha256(path) != made_with):
        raise InvalidRequestError(
            f"{path.name} has changed since this picture was made: it cannot be re-run exactly."
        )
    try:
        return StyleGANRequest(
            str(recipe["model"]),
            int(recipe["seed"]),
            float(recipe.get("truncation", 1.0)),
            None if recipe.get("class") is None else int(recipe["class"]),
            str(recipe.get("noise_mode", "const")),
            None if recipe.get("mix_seed") is None else int(recipe["mix_seed"]),
            str(recipe.get("mix_layers", "fine")),
            tuple(float(v) for v in recipe.get("translate", (0.0, 0.0))),  # type: ignore[arg-type]
            float(recipe.get("rotate", 0.0)),
            None if recipe.get("variation_seed") is None else int(recipe["variation_seed"]),
            float(recipe.get("variation_strength", 0.0)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidRequestError("This StyleGAN recipe is incomplete.", repr(exc)) from exc
