"""A scriptable fake engine for worker, session and UI tests (same seam as the real one)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from studio.engine.requests import GenerationRequest, GenerationResult, StepPreview


@dataclass
class FakeEngine:
    """Makes `steps` previews `step_delay` apart; honours cancel; can fail on purpose."""

    steps: int = 4
    step_delay: float = 0.0
    fail_with: Exception | None = None
    runs: list = field(default_factory=list)
    gate: threading.Event | None = None  # when set, each run waits for it before stepping
    recipe_extra: dict = field(default_factory=dict)  # merged into each finished recipe

    def run(self, request: GenerationRequest, on_step, cancel: threading.Event):
        self.runs.append(request)
        if self.gate is not None:
            self.gate.wait(5)
        if self.fail_with is not None:
            raise self.fail_with
        on_step(StepPreview(0, self.steps, None, 0.0, phase="loading"))
        started = time.perf_counter()
        last = None
        for i in range(1, self.steps + 1):
            if self.step_delay:
                time.sleep(self.step_delay)
            value = int(255 * i / self.steps)
            last = np.full(
                (max(1, request.height // 8), max(1, request.width // 8), 3), value, np.uint8
            )
            on_step(StepPreview(i, self.steps, last, time.perf_counter() - started))
            if cancel.is_set():
                image = np.repeat(np.repeat(last, 8, axis=0), 8, axis=1)
                return GenerationResult(
                    image[: request.height, : request.width],
                    request,
                    {"seed": request.seed, "draft": True},
                    True,
                    i,
                )
        image = np.zeros((request.height, request.width, 3), np.uint8)
        image[..., 0] = request.seed % 256
        image[..., 1] = 200
        recipe = {
            **request.describe(),
            "model_name": "fake",
            "steps_done": self.steps,
            "device": "cpu",
            "dtype": "float32",
            "draft": False,
            "versions": {"studio": "test"},
            **self.recipe_extra,
        }
        return GenerationResult(image, request, recipe, False, self.steps)
