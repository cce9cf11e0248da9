"""Few-step models (SD-Turbo, SDXL-Turbo, LCM): the scheduler and CFG they need, picked for them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.errors import InvalidRequestError

KINDS = ("off", "turbo", "lcm")


@dataclass(frozen=True)
class FewStep:
    """What changes for a few-step run (recorded in the recipe)."""

    kind: str  # "off" | "turbo" | "lcm"
    sampler: str
    scheduler_overrides: dict[str, Any]
    guidance_scale: float


def resolve(request: Any, variant_tags: str) -> FewStep:
    """The request's choice, or the model's tags (turbo / lcm) when left automatic."""
    kind = request.few_step
    if kind is None:
        tags = variant_tags.split(",")
        kind = "lcm" if "lcm" in tags else "turbo" if "turbo" in tags else "off"
    if kind not in KINDS:
        raise InvalidRequestError(f"Few-step mode must be one of {', '.join(KINDS)}, got {kind!r}.")
    if kind == "turbo":
        # Turbo models are trained without CFG and on the last timesteps (trailing spacing).
        return FewStep(kind, request.sampler, {"timestep_spacing": "trailing"}, 0.0)
    if kind == "lcm":
        # LCM: its own scheduler; guidance 1-2 (higher burns the image).
        guidance = min(max(request.guidance_scale, 1.0), 2.0)
        return FewStep(kind, "LCM", {}, guidance)
    return FewStep("off", request.sampler, {}, request.guidance_scale)
