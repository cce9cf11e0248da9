"""A job's MemoryPlan switched on the loaded pipeline (and off again for the next job)."""

from __future__ import annotations

import logging
from typing import Any

from studio.engine.memory.presets import MemoryPlan

log = logging.getLogger(__name__)
MIN_TILE_LATENT = 4  # a VAE whose tile is smaller than this (tiny test models) cannot tile


def can_tile(vae: Any) -> bool:
    return hasattr(vae, "use_tiling") and getattr(vae, "tile_latent_min_size", 0) >= MIN_TILE_LATENT


def _set_vae(vae: Any, plan: MemoryPlan) -> None:
    """The VAE is shared by every view of the model, so each job sets both switches."""
    if hasattr(vae, "use_tiling"):
        vae.use_tiling = bool(plan.vae_tiling and can_tile(vae))
    if hasattr(vae, "use_slicing"):
        vae.use_slicing = bool(plan.vae_slicing)


def _set_offload(pipe: Any, offload: str, device: str) -> None:
    """Accelerate hooks move one component (model) or one layer (sequential) to the device at
    a time; removing them puts the whole pipeline back on the device."""
    pipe.remove_all_hooks()
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    else:
        pipe.to(device)


def apply_plan(loaded: Any, pipes: list[Any], plan: MemoryPlan) -> None:
    """Switch the loaded model to `plan`: VAE tiling/slicing every job, attention slicing and
    CPU offload only when they change (they rebuild processors / hooks)."""
    before: MemoryPlan = loaded.memory_plan or MemoryPlan()
    for pipe in pipes:
        _set_vae(pipe.vae, plan)
    base = loaded.txt2img
    if plan.attention_slicing != before.attention_slicing:
        if plan.attention_slicing:
            base.enable_attention_slicing("auto")
        else:
            base.disable_attention_slicing()
    if plan.offload != before.offload and loaded.device != "cpu":
        log.info("CPU offload %s -> %s", before.offload, plan.offload)
        _set_offload(base, plan.offload, loaded.device)
    loaded.memory_plan = plan


def applied(plan: MemoryPlan, vae: Any) -> list[str]:
    """What the job really ran with, in plain words (tiling is skipped for VAEs too small)."""
    words = plan.describe()
    if plan.vae_tiling and not can_tile(vae):
        words = [w for w in words if w != "tiled VAE"]
    return words
