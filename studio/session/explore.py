"""Request sets for exploring: sampler/step comparisons, seed and prompt walks, variations."""

from __future__ import annotations

from dataclasses import replace

from studio.engine.requests import GenerationRequest
from studio.errors import StudioError

MAX_CELLS = 64


def _check_count(count: int, what: str) -> None:
    if not 1 <= count <= MAX_CELLS:
        raise StudioError(f"{what} must be between 1 and {MAX_CELLS}, got {count}.")


def compare_requests(
    base: GenerationRequest, samplers: list[str], step_counts: list[int]
) -> list[GenerationRequest]:
    """Same prompt and seed for every (sampler, steps) pair: rows samplers, columns steps."""
    samplers = samplers or [base.sampler]
    step_counts = step_counts or [base.num_inference_steps]
    _check_count(len(samplers) * len(step_counts), "A comparison's cells")
    if not hasattr(base, "sampler"):
        raise StudioError("This model has no sampler or steps to compare: walk its seeds.")
    single = replace(base, batch_size=1, batch_count=1)
    return [
        replace(single, sampler=name, num_inference_steps=int(steps))
        for name in samplers
        for steps in step_counts
    ]


def walk_requests(
    base: GenerationRequest, seed_b: int | None, prompt_b: str | None, frames: int
) -> list[GenerationRequest]:
    """`frames` steps from base to (seed_b, prompt_b): slerp of the noise, mix of the prompts.

    The first frame is base itself and the last the plain (seed_b, prompt_b) request, so
    both ends are exactly those images for every sampler. Ancestral samplers take fresh
    noise from the generator each step, which follows the first seed in between: their walk
    jumps at the last frame; deterministic samplers (Euler, DPM++ 2M, DDIM…) walk smoothly.
    """
    if frames < 2:
        raise StudioError(f"A walk needs at least 2 frames, got {frames}.")
    _check_count(frames, "A walk's frames")
    if seed_b is None and not prompt_b:
        raise StudioError("A walk needs a second seed, a second prompt, or both.")
    if prompt_b and not hasattr(base, "prompt_b"):
        raise StudioError("This model takes no prompt: walk between two seeds.")
    single = replace(base, batch_size=1, batch_count=1)
    out = [single]
    for i in range(1, frames - 1):
        t = i / (frames - 1)
        changes: dict = {}
        if seed_b is not None:
            changes.update(variation_seed=seed_b, variation_strength=t)
        if prompt_b:
            changes.update(prompt_b=prompt_b, prompt_mix=t)
        out.append(replace(single, **changes))
    end = replace(single, seed=single.seed if seed_b is None else seed_b)
    out.append(replace(end, prompt=prompt_b) if prompt_b else end)
    return out


def variation_requests(
    base: GenerationRequest, count: int, strength: float, first_seed: int
) -> list[GenerationRequest]:
    """Small noise mixing around base's seed: variation seeds first_seed, first_seed + 1, …"""
    _check_count(count, "Variations")
    if not 0.0 < strength <= 1.0:
        raise StudioError(f"Variation strength must be above 0 and at most 1, got {strength}.")
    single = replace(base, batch_size=1, batch_count=1)
    return [
        replace(single, variation_seed=(first_seed + i) % 2**64, variation_strength=strength)
        for i in range(count)
    ]


def short_label(request: GenerationRequest, kind: str) -> str:
    """What distinguishes a cell: sampler and steps, walk position, or variation seed."""
    if kind == "Compare":
        return f"{request.sampler} · {request.num_inference_steps} steps"
    if kind == "Walk":
        mix = getattr(request, "prompt_mix", 0.0)
        t = request.variation_strength if request.variation_seed is not None else mix
        return f"seed {request.seed} · t={t:.2f}" if t else f"seed {request.seed}"
    return f"variation seed {request.variation_seed} · {request.variation_strength:.2f}"
