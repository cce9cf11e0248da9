"""Low-memory presets (Fast … Minimal) and how a job's MemorySettings resolve on a device."""

from __future__ import annotations

from dataclasses import dataclass, replace

from studio.engine.requests import MemorySettings

GIB = 2**30
PRESETS = ("auto", "fast", "balanced", "low", "minimal")
PRESET_LABELS = {
    "auto": "Automatic (from the device's memory)",
    "fast": "Fast (plenty of memory)",
    "balanced": "Balanced",
    "low": "Low memory",
    "minimal": "Minimal (slowest)",
}


@dataclass(frozen=True)
class MemoryPlan:
    """The switches a job runs with, after the preset and the device are taken into account."""

    vae_tiling: bool = False
    vae_slicing: bool = False
    attention_slicing: bool = False
    offload: str = "none"  # "none" | "model" | "sequential"

    def describe(self) -> list[str]:
        """Plain names of what is switched on (for messages and recipes)."""
        out = []
        if self.vae_tiling:
            out.append("tiled VAE")
        if self.vae_slicing:
            out.append("VAE one image at a time")
        if self.attention_slicing:
            out.append("sliced attention")
        if self.offload != "none":
            out.append(f"{self.offload} CPU offload")
        return out


# preset -> switches. Attention slicing is only honoured without fused attention (SDPA): with
# SDPA it materialises the attention scores and so needs more memory, not less.
PRESET_PLANS = {
    "fast": MemoryPlan(),
    "balanced": MemoryPlan(vae_slicing=True),
    "low": MemoryPlan(vae_tiling=True, vae_slicing=True, offload="model"),
    "minimal": MemoryPlan(
        vae_tiling=True, vae_slicing=True, attention_slicing=True, offload="sequential"
    ),
}


def preset_by_memory(device: str, total_bytes: int) -> str:
    """Fast with >= 12 GiB (GPU) / 16 GiB (CPU), Balanced with >= 8, Low >= 4, else Minimal."""
    fast = 12 * GIB if device != "cpu" else 16 * GIB
    if total_bytes >= fast:
        return "fast"
    if total_bytes >= 8 * GIB:
        return "balanced"
    return "low" if total_bytes >= 4 * GIB else "minimal"


def auto_preset(device: str, total_bytes: int) -> str:
    """What 'Automatic' means on this device (tests pin it to Fast: see tests/conftest.py)."""
    return preset_by_memory(device, total_bytes)


def has_fused_attention() -> bool:
    import torch.nn.functional as F

    return hasattr(F, "scaled_dot_product_attention")


def resolve(
    settings: MemorySettings, device: str, total_bytes: int, sdpa: bool = True
) -> MemoryPlan:
    """The switches for this device: preset (auto by total memory), then explicit choices."""
    preset = settings.preset if settings.preset in PRESET_PLANS else None
    plan = PRESET_PLANS[preset or auto_preset(device, total_bytes)]
    for name in ("vae_tiling", "vae_slicing", "attention_slicing", "offload"):
        value = getattr(settings, name)
        if value is not None:
            plan = replace(plan, **{name: value})
    if device == "cpu":  # the weights already live in RAM: offloading to it changes nothing
        plan = replace(plan, offload="none")
    if sdpa:
        plan = replace(plan, attention_slicing=False)
    return plan


def safer(plan: MemoryPlan, device: str) -> MemoryPlan:
    """The next safer switches after an out-of-memory (the same plan if nothing is left)."""
    out = replace(plan, vae_tiling=True, vae_slicing=True)
    if device != "cpu" and plan.offload == "none":
        out = replace(out, offload="model")
    return out
