"""Sampler names artists know, mapped to diffusers scheduler classes and config overrides."""

from __future__ import annotations

from typing import Any

# name -> (diffusers class name, config overrides)
SAMPLERS: dict[str, tuple[str, dict[str, Any]]] = {
    "Euler": ("EulerDiscreteScheduler", {}),
    "Euler a": ("EulerAncestralDiscreteScheduler", {}),
    "Heun": ("HeunDiscreteScheduler", {}),
    "LMS": ("LMSDiscreteScheduler", {}),
    "DPM++ 2M": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}),
    "DPM++ 2M Karras": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "use_karras_sigmas": True},
    ),
    "DPM++ 2M SDE Karras": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "sde-dpmsolver++", "use_karras_sigmas": True},
    ),
    "DDIM": ("DDIMScheduler", {}),
    "PLMS": ("PNDMScheduler", {"skip_prk_steps": True}),
    "DDPM": ("DDPMScheduler", {}),
    "UniPC": ("UniPCMultistepScheduler", {}),
    "LCM": ("LCMScheduler", {}),
}

DEFAULT_SAMPLER = "Euler a"


def sampler_names() -> list[str]:
    return list(SAMPLERS)


def make_scheduler(base_config: Any, name: str, extra: dict[str, Any] | None = None):
    """A fresh scheduler for one run, keeping the model's betas and prediction type."""
    import diffusers

    from studio.errors import InvalidRequestError

    if name not in SAMPLERS:
        raise InvalidRequestError(
            f"Unknown sampler {name!r}.", "Known samplers: " + ", ".join(SAMPLERS)
        )
    class_name, overrides = SAMPLERS[name]
    cls = getattr(diffusers, class_name)
    return cls.from_config(base_config, **{**overrides, **(extra or {})})
