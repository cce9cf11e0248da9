"""Child process for the memory tests: peak RSS of one job in a warm process, as JSON."""

from __future__ import annotations

import functools
import json
import sys
import threading


def _one_job(job) -> None:
    """A fresh engine (so the model is loaded inside the measurement), dropped afterwards."""
    from studio.engine.diffusion.engine import DiffusionEngine

    DiffusionEngine().run(job, lambda p: None, threading.Event())


def main() -> None:
    import torch

    torch.set_num_threads(1)
    from studio.engine.diffusion.engine import DiffusionEngine
    from studio.engine.memory.estimate import estimate
    from studio.engine.memory.presets import MemoryPlan
    from studio.engine.memory.rss import measure_peak
    from studio.engine.requests import GenerationRequest

    warm, jobs = sys.argv[1], sys.argv[2:]  # jobs: path:width:batch, measured one by one

    def request(model: str, size: int, n: int) -> GenerationRequest:
        return GenerationRequest(
            model, "a lake", num_inference_steps=2, width=size, height=size, batch_size=n,
            device="cpu", dtype="float32",
        )  # fmt: skip

    # A warm app: libraries imported and one job run on another model (as after preload).
    DiffusionEngine().run(request(warm, 64, 1), lambda p: None, threading.Event())
    out = []
    for spec in jobs:
        path, width, batch = spec.rsplit(":", 2)
        job = request(path, int(width), int(batch))
        est = estimate(job, MemoryPlan(), "float32")
        _, _, peak = measure_peak(functools.partial(_one_job, job))
        out.append({"job": spec, "estimate": est.total, "peak": peak, "phases": est.phases})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
