"""Cost of Studio's streaming: plain diffusers call vs the engine + worker with x0 previews.

Same model, seed, sampler and steps through (a) a plain `StableDiffusionPipeline` call and
(b) Studio's GenerationWorker running DiffusionEngine, which captures x0 every step, turns it
into an RGB preview and posts it to the GUI thread (throttled). Runs alternate a, b, a, b…
in one process; the figure is the ratio of medians b / a. Goal: <= 1.03 on CPU with a model
whose step takes >= 50 ms.

    python benchmarks/streaming_overhead.py [--runs 15] [--steps 10] [--size 128]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.engine.testing.scaffold import TinySpec, save_sd_folder  # noqa: E402

# ~60 M parameter UNet: big enough that one CFG step takes well over 50 ms on 2 CPU cores.
BENCH_SPEC = TinySpec(
    unet_channels=(128, 256, 256),
    layers_per_block=2,
    cross_attention_dim=256,
    attention_head_dim=8,
    vae_channels=(32, 64, 64, 64),
    text_hidden=256,
    text_layers=4,
    sample_size=32,
)


def plain_run(pipe, args) -> float:
    import torch

    from studio.engine.diffusion.samplers import make_scheduler

    pipe.scheduler = make_scheduler(pipe.scheduler.config, args.sampler)
    start = time.perf_counter()
    with torch.inference_mode():
        pipe(
            prompt="a lighthouse on a cliff at dusk",
            num_inference_steps=args.steps,
            guidance_scale=7.0,
            width=args.size,
            height=args.size,
            generator=torch.Generator("cpu").manual_seed(1),
            output_type="np",
        )
    return time.perf_counter() - start


CALLBACK_SECONDS: list[float] = []


def time_the_step_callback() -> None:
    """Measure Studio's own per-step work directly (x0 -> RGB preview -> post to the GUI)."""
    from studio.engine.diffusion.stream import StepStream

    original = StepStream.callback

    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            CALLBACK_SECONDS.append(time.perf_counter() - start)

    StepStream.callback = timed


def studio_run(worker, request) -> tuple[float, int]:
    """Submit one job and run a real (sleeping) Qt event loop until it has finished."""
    from PySide6.QtCore import QEventLoop

    loop = QEventLoop()
    previews = []
    worker.step_previewed.connect(lambda i, p: previews.append(p.step))
    worker.job_finished.connect(lambda i, r: loop.quit())
    worker.job_failed.connect(lambda i, m, d: (print(m, d), loop.quit()))
    start = time.perf_counter()
    worker.submit(request)
    loop.exec()
    seconds = time.perf_counter() - start
    for signal in (worker.step_previewed, worker.job_finished, worker.job_failed):
        signal.disconnect()
    return seconds, len(previews)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--sampler", default="Euler a")
    args = parser.parse_args()

    import torch
    from diffusers import StableDiffusionPipeline
    from PySide6.QtCore import QCoreApplication

    from studio.engine.diffusion.engine import DiffusionEngine
    from studio.engine.requests import GenerationRequest
    from studio.worker.worker import GenerationWorker

    app = QCoreApplication.instance() or QCoreApplication([])  # noqa: F841 (event loop)
    time_the_step_callback()
    with tempfile.TemporaryDirectory() as tmp:
        path = save_sd_folder(Path(tmp) / "bench-sd", BENCH_SPEC)
        pipe = StableDiffusionPipeline.from_pretrained(
            str(path), local_files_only=True, safety_checker=None, requires_safety_checker=False
        )
        pipe.set_progress_bar_config(disable=True)
        unet_params = sum(p.numel() for p in pipe.unet.parameters())
        worker = GenerationWorker(DiffusionEngine())
        request = GenerationRequest(
            model_path=str(path),
            prompt="a lighthouse on a cliff at dusk",
            num_inference_steps=args.steps,
            guidance_scale=7.0,
            seed=1,
            width=args.size,
            height=args.size,
            sampler=args.sampler,
            device="cpu",
            dtype="float32",
        )
        plain_run(pipe, args)  # warm-up both paths (allocator, model load)
        studio_run(worker, request)
        plain, ours, shown = [], [], []
        for i in range(args.runs):
            plain.append(plain_run(pipe, args))
            seconds, previews = studio_run(worker, request)
            ours.append(seconds)
            shown.append(previews)
            print(
                f"run {i + 1}: plain {plain[-1]:.3f} s, studio {ours[-1]:.3f} s "
                f"({previews} previews shown)"
            )
        worker.shutdown()
    a, b = statistics.median(plain), statistics.median(ours)
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"UNet {unet_params / 1e6:.1f} M params, {args.size}x{args.size}, {args.steps} steps, "
        f"{args.sampler}"
    )
    step = a / args.steps
    per_step = statistics.median(CALLBACK_SECONDS)
    print(f"time per step (plain, median run / steps): {step * 1000:.0f} ms")
    print(
        f"Studio's per-step streaming work (median of {len(CALLBACK_SECONDS)} steps): "
        f"{per_step * 1000:.3f} ms = {per_step / step:.3%} of a step"
    )
    print(
        f"median plain {a:.3f} s, median studio {b:.3f} s, ratio studio/plain = {b / a:.3f} "
        f"(goal <= 1.03)"
    )


if __name__ == "__main__":
    main()
