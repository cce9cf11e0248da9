"""What every `studio train …` run shares: errors, ETA text, safetensors checkpoints, grids.

A checkpoint is RUN/checkpoints/last.safetensors (tensors named `<net>.<key>` for each module
and `<opt>.<param index>.<moment>` for each optimizer) + last.json (step, elapsed, losses,
config), both written atomically, so an interrupted run resumes exactly where it stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from studio.errors import StudioError
from studio.units import format_duration

Log = Callable[[str], None]


class TrainingError(StudioError):
    """A training run cannot start or continue (bad settings, no checkpoint to resume)."""


def eta_seconds(step, start_step, total_steps, spent, max_seconds) -> float:
    """Seconds left until the first of the step budget and the time budget runs out."""
    done = step - start_step
    left = math.inf
    if total_steps is not None and done > 0:
        left = (total_steps - step) * spent / done
    if max_seconds is not None:
        left = min(left, max_seconds - spent)
    return left


class RunClock:
    """One invocation of a training run: when it stops, checkpoints and draws a sample grid.

    `cfg` needs steps, max_minutes, checkpoint_every and sample_every_minutes; `elapsed` is the
    training time of earlier invocations (a resumed run), in seconds.
    """

    def __init__(self, cfg: Any, step: int, elapsed: float) -> None:
        self.steps, self.checkpoint_every = cfg.steps, cfg.checkpoint_every
        self.budget = None if cfg.max_minutes is None else cfg.max_minutes * 60
        self.grid_every = cfg.sample_every_minutes * 60
        self.start_step, self.before = step, elapsed
        self.started = self.last_grid = time.monotonic()

    def spent(self) -> float:
        """Seconds of this invocation."""
        return time.monotonic() - self.started

    def elapsed(self) -> float:
        """Seconds of the whole run, earlier invocations included."""
        return self.before + self.spent()

    def finished(self, step: int) -> bool:
        """The step budget or this invocation's time budget is used up."""
        over_time = self.budget is not None and self.spent() >= self.budget
        return (self.steps is not None and step >= self.steps) or over_time

    def checkpoint_due(self, step: int) -> bool:
        return step % self.checkpoint_every == 0 or step == self.steps

    def grid_due(self) -> bool:
        """True once every sample_every_minutes (and restarts the wait)."""
        if time.monotonic() - self.last_grid < self.grid_every:
            return False
        self.last_grid = time.monotonic()
        return True

    def step_text(self, step: int) -> str:
        return f"step {step}{'' if self.steps is None else f'/{self.steps}'}"

    def timing_text(self, step: int) -> str:
        """A progress-log fragment: "0.52 s/step  elapsed 1h02m  ETA 3m10s"."""
        spent = self.spent()
        left = eta_seconds(step, self.start_step, self.steps, spent, self.budget)
        return (
            f"{spent / max(1, step - self.start_step):.2f} s/step  "
            f"elapsed {format_duration(self.before + spent)}  ETA {format_duration(left)}"
        )


def checkpoint_paths(run: Path) -> tuple[Path, Path]:
    return run / "checkpoints" / "last.safetensors", run / "checkpoints" / "last.json"


def save_state(run: Path, nets: dict[str, Any], opts: dict[str, Any], step: int, state: dict):
    """Modules' state dicts and optimizers' moments as one safetensors file, the rest as JSON."""
    import json
    import os

    from safetensors.torch import save_file

    tensors = {}
    for prefix, net in nets.items():
        tensors.update({f"{prefix}.{k}": v for k, v in net.state_dict().items()})
    for prefix, opt in opts.items():
        for index, moments in opt.state_dict()["state"].items():
            for name, value in moments.items():
                flat = value.reshape(-1) if value.ndim == 0 else value
                tensors[f"{prefix}.{index}.{name}"] = flat
    weights, info = checkpoint_paths(run)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    save_file(tensors, str(weights) + ".tmp")
    os.replace(str(weights) + ".tmp", weights)
    info.with_suffix(".tmp").write_text(json.dumps({"step": step, **state}, indent=1))
    os.replace(info.with_suffix(".tmp"), info)


def load_state(run: Path, nets: dict[str, Any], opts: dict[str, Any]) -> dict:
    """Restore what save_state wrote into the same modules/optimizers; returns its JSON."""
    import json

    from safetensors.torch import load_file

    weights, info = checkpoint_paths(run)
    if not weights.is_file() or not info.is_file():
        raise TrainingError(f"{run} has no checkpoint to resume from (checkpoints/last.*).")
    tensors = load_file(str(weights))
    for prefix, net in nets.items():
        cut = len(prefix) + 1
        own = {k[cut:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
        for key, value in net.state_dict().items():  # 0-d buffers (BatchNorm counters)
            if key in own and value.ndim == 0:
                own[key] = own[key].reshape(())
        net.load_state_dict(own)
    for prefix, opt in opts.items():
        opt_state = opt.state_dict()
        moments: dict[int, dict] = {}
        for key, value in tensors.items():
            if key.startswith(prefix + "."):
                _, index, name = key.split(".", 2)
                moments.setdefault(int(index), {})[name] = (
                    value.reshape(()) if name == "step" else value
                )
        opt_state["state"] = moments
        opt.load_state_dict(opt_state)
    return json.loads(info.read_text())


def write_grid(run: Path, step: int, grid: np.ndarray) -> Path:
    """RUN/samples/step_NNNNNN.png."""
    from PIL import Image

    path = run / "samples" / f"step_{step:06d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(path)
    return path
