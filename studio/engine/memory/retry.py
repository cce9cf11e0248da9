"""After an out-of-memory: the one safer retry the artist allowed, and what it changes in words."""

from __future__ import annotations

from dataclasses import dataclass, replace

from studio.engine.memory.estimate import with_plan
from studio.engine.memory.presets import MemoryPlan
from studio.engine.requests import GenerationRequest

# Preferences choices for the retry, in the order they are tried and named.
RETRY_CHOICES = {
    "vae_tiling": "Tiled VAE (decode in tiles, one image at a time)",
    "batch": "A batch of 1 (the same images, one after another)",
    "offload": "Model CPU offload (GPU only; slower)",
}


@dataclass(frozen=True)
class Retry:
    """The changed job, the switches it runs with, and the plain names of what changed."""

    request: GenerationRequest
    plan: MemoryPlan
    changes: tuple[str, ...]

    @property
    def message(self) -> str:
        """E.g. 'Ran out of memory; retried with tiled VAE and a batch of 1.'"""
        return f"Ran out of memory; retried with {join_words(self.changes)}."


def join_words(words: tuple[str, ...] | list[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def retry_for(request: GenerationRequest, plan: MemoryPlan, device: str) -> Retry | None:
    """The safer job for one retry, using only what request.memory allows; None if nothing
    allowed would change (retrying the same job would only run out of memory again)."""
    memory = request.memory
    allowed = set(memory.retry_with) if memory.oom_retry else set()
    safer, changes = plan, []
    if "vae_tiling" in allowed and not (plan.vae_tiling and plan.vae_slicing):
        safer = replace(safer, vae_tiling=True, vae_slicing=True)
        changes.append("tiled VAE")
    changed = request
    if "batch" in allowed and request.batch_size > 1:
        count = request.batch_count * request.batch_size
        changed = replace(request, batch_size=1, batch_count=count)
        changes.append("a batch of 1")
    if "offload" in allowed and device not in ("cpu",) and plan.offload == "none":
        safer = replace(safer, offload="model")
        changes.append("model CPU offload")
    if not changes:
        return None
    return Retry(with_plan(changed, safer), safer, tuple(changes))
