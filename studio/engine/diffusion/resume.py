"""Continue a cancelled run exactly: capture and restore latents, scheduler state and RNG."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import numpy as np

from studio.engine.requests import GenerationRequest, ResumeState
from studio.errors import InvalidRequestError

SKIPPED = {"_internal_dict", "step", "set_timesteps"}  # config and our own instance patches


class Unsupported(Exception):
    """The scheduler holds state we cannot copy; the draft cannot be continued."""


def _encode(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return ("tensor", value.detach().cpu().numpy().copy(), str(value.device))
    if isinstance(value, np.ndarray):
        return ("array", value.copy())
    if isinstance(value, (list, tuple)):
        return ("list" if isinstance(value, list) else "tuple", tuple(_encode(v) for v in value))
    if value is None or isinstance(value, (bool, int, float, str)):
        return ("value", value)
    raise Unsupported(type(value).__name__)


def _decode(encoded: Any) -> Any:
    import torch

    kind = encoded[0]
    if kind == "tensor":
        return torch.from_numpy(np.array(encoded[1])).to(encoded[2])
    if kind == "array":
        return np.array(encoded[1])
    if kind in ("list", "tuple"):
        items = [_decode(v) for v in encoded[1]]
        return items if kind == "list" else tuple(items)
    return encoded[1]


def _generators(gens: Any) -> list:
    return list(gens) if isinstance(gens, list) else [gens]


def capture(
    scheduler: Any, loop_index: int, steps_done: int, latents: Any, gens: Any, request: Any
) -> ResumeState | None:
    """The state after loop iteration `loop_index`, or None if it cannot be copied."""
    try:
        state = tuple(
            (name, _encode(value)) for name, value in vars(scheduler).items() if name not in SKIPPED
        )
    except Unsupported:
        return None
    return ResumeState(
        loop_index=loop_index,
        steps_done=steps_done,
        latents=latents.detach().float().cpu().numpy(),
        scheduler_state=state,
        generator_states=tuple(g.get_state().numpy() for g in _generators(gens)),
        sampler=request.sampler,
        num_inference_steps=request.num_inference_steps,
        seed=request.seed,
    )


def check_resume(request: GenerationRequest) -> None:
    """A draft continues only as the same plain prompt run it was."""
    resume = request.resume
    if resume is None:
        return
    if request.mode != "txt2img" or request.batch_count != 1 or request.refiner_path:
        raise InvalidRequestError(
            f"Only prompt (text to image) runs of one batch can be continued, not {request.mode}."
        )
    same = (request.sampler, request.num_inference_steps, request.seed)
    was = (resume.sampler, resume.num_inference_steps, resume.seed)
    if same != was:
        raise InvalidRequestError(
            f"A draft continues with its own sampler, steps and seed {was}, got {same}."
        )


@contextmanager
def resumed(pipe: Any, scheduler: Any, resume: ResumeState, gens: Any):
    """While active, the pipeline starts from the draft: its latents, schedule rest and RNG."""
    import torch

    original = scheduler.set_timesteps
    schedule = {}

    def set_timesteps(*args, **kwargs):
        original(*args, **kwargs)
        schedule["full"] = scheduler.timesteps  # loop_index counts in the whole schedule
        for name, encoded in resume.scheduler_state:
            setattr(scheduler, name, _decode(encoded))
        # The pipeline loops over what this leaves in scheduler.timesteps: the rest only.
        scheduler.timesteps = schedule["full"][resume.loop_index + 1 :]

    def prepare_latents(*args, **kwargs):
        # Called after the pipeline took its loop list; multistep schedulers count their
        # remaining steps in scheduler.timesteps, so it must be the whole schedule again.
        scheduler.timesteps = schedule["full"]
        device, dtype = pipe._execution_device, pipe.unet.dtype
        return torch.from_numpy(np.array(resume.latents)).to(device, dtype)

    for gen, state in zip(_generators(gens), resume.generator_states, strict=True):
        gen.set_state(torch.from_numpy(np.array(state)))
    scheduler.set_timesteps = set_timesteps  # instance attributes shadow the methods
    pipe.prepare_latents = prepare_latents
    try:
        yield
    finally:
        del scheduler.set_timesteps
        del pipe.prepare_latents
