"""Memory soak: 50 consecutive jobs with model switches, resident memory after each job.

Three random-weight diffusers models are built and saved to a temp dir (two tiny ones, ~1.5 M
parameter UNets, and a mid-size one, ~22 M parameters in all). The real generation thread
(GenerationWorker + DiffusionEngine) runs jobs cycling through them at 64² and 128², batch 1
and 2, with a 4 MB model cache: smaller than any of them, so it keeps only the model in use
and every switch frees one model and loads the next (the load/free path runs 50 times).
Every 10th job runs out of memory at its 2nd UNet call (injected) and is recovered by the
retry, so the out-of-memory path is soaked too. After each job: gc + malloc_trim, then RSS.

Figure: RSS growth from job 5 (warm: every model loaded once, libraries initialised) to job
50 (both run the mid model, so the resident model is the same), and the least-squares slope
over jobs 5-50 after taking out each model's own level (the saw-tooth of the switches).
Bound: growth <= 32 MiB and slope <= 0.5 MiB/job. What it catches: a model not freed on a
switch leaks >= 3.5 MiB per load (33 loads after job 5: > 100 MiB); the working set of a
failed attempt kept alive by a traceback is ~5-15 MiB for the mid model at 128² (5 injected
out-of-memories: > 25 MiB).

Measured 2026-12-03 (2 cores shared with a training run, nice 10, 1 torch thread), two runs:
growth job 5 -> 50 +14.8 MiB (+2.1 % of 707 MiB) and +4.9 MiB (+0.7 %), slope -0.05 MiB/job
(second run); 5 of 5 injected out-of-memories recovered, 0 failed, ~80 s. Within the bound.
Check that it can fail: pinning every loaded pipeline (a leaked model per switch) gives
+484 MiB over jobs 5 -> 20 and +31.8 MiB/job.

    nice -n 10 python benchmarks/memory_soak.py [--jobs 50] [--threads 1] [--cache-mb 4]
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

MIB = 2**20
GROWTH_BOUND_MIB = 32.0
SLOPE_BOUND_MIB = 0.5
WARM_JOB = 5  # 1-based: growth is measured from here to the last job
# ~22 M parameters: UNet (64, 128, 256), VAE (32, 64, 128, 128), 4-layer 128-wide text encoder
MID_SPEC = TinySpec(
    unet_channels=(64, 128, 256),
    layers_per_block=2,
    cross_attention_dim=128,
    attention_head_dim=8,
    vae_channels=(32, 64, 128, 128),
    text_hidden=128,
    text_layers=4,
    sample_size=32,
)


def build_models(root: Path) -> list[Path]:
    return [
        save_sd_folder(root / "tiny-a", TinySpec(), seed=1),
        save_sd_folder(root / "mid", MID_SPEC, seed=2),
        save_sd_folder(root / "tiny-b", TinySpec(layers_per_block=2), seed=3),
    ]


def job_request(models: list[Path], i: int):
    from studio.engine.requests import GenerationRequest, MemorySettings

    size = 128 if i % 2 else 64
    return GenerationRequest(
        model_path=str(models[i % len(models)]),
        prompt=f"a harbour at dusk, job {i}",
        num_inference_steps=4,
        guidance_scale=6.0,
        seed=i,
        width=size,
        height=size,
        sampler="Euler a" if i % 3 else "DPM++ 2M",
        device="cpu",
        dtype="float32",
        batch_size=2 if i % 4 == 3 else 1,
        memory=MemorySettings(preset="fast"),
    )


def inject_oom_once():
    """The next job's 2nd UNet call raises the CPU allocator's error (installed between jobs,
    on the class, so it hits whichever model the job loads); returns the undo."""
    from diffusers import UNet2DConditionModel

    original = UNet2DConditionModel.forward
    calls = [0]

    def forward(self, *args, **kwargs):
        calls[0] += 1
        if calls[0] == 2:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory: injected")
        return original(self, *args, **kwargs)

    UNet2DConditionModel.forward = forward
    return lambda: setattr(UNet2DConditionModel, "forward", original)


def run_job(worker, request, loop_cls) -> tuple[object, str]:
    """Submit one job and spin a local event loop until it ends: (result, failure text)."""
    loop = loop_cls()
    out: dict = {}

    def finished(_job, result) -> None:
        out["result"] = result
        loop.quit()

    def failed(_job, message, _details) -> None:
        out["failed"] = message
        loop.quit()

    worker.job_finished.connect(finished)
    worker.job_failed.connect(failed)
    worker.submit(request, "soak")
    loop.exec()
    worker.job_finished.disconnect(finished)
    worker.job_failed.disconnect(failed)
    return out.get("result"), out.get("failed", "")


def detrended_slope(rss: list[int], names: list[str]) -> float:
    """MiB per job over jobs WARM_JOB.., each RSS taken relative to its model's mean there."""
    tail = list(range(WARM_JOB - 1, len(rss)))
    level = {n: statistics.fmean(rss[i] for i in tail if names[i] == n) for n in set(names)}
    ys = [(rss[i] - level[names[i]]) / MIB for i in tail]
    return slope([float(i) for i in tail], ys)


def slope(xs: list[float], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache-mb", type=float, default=4.0, help="model cache budget")
    parser.add_argument("--oom-every", type=int, default=10, help="0: no injected OOM")
    args = parser.parse_args()

    import torch
    from PySide6.QtCore import QCoreApplication, QEventLoop

    from studio.engine.diffusion.engine import DiffusionEngine
    from studio.engine.memory.rss import rss_bytes, trim
    from studio.worker.worker import GenerationWorker

    torch.set_num_threads(args.threads)
    app = QCoreApplication.instance() or QCoreApplication([])
    with tempfile.TemporaryDirectory(prefix="studio-soak-") as tmp:
        models = build_models(Path(tmp))
        engine = DiffusionEngine(cache_budget_bytes=int(args.cache_mb * MIB))
        worker = GenerationWorker(engine)
        rss, names, notes, failures = [], [], 0, 0
        started = time.perf_counter()
        try:
            for i in range(args.jobs):
                request = job_request(models, i)
                injected = args.oom_every and (i + 1) % args.oom_every == 0
                undo = inject_oom_once() if injected else None
                result, failed = run_job(worker, request, QEventLoop)
                if undo is not None:
                    undo()
                failures += bool(failed)
                notes += bool(result is not None and result.recipe.get("memory_retry"))
                del result
                trim()
                rss.append(rss_bytes())
                names.append(Path(request.model_path).name)
                print(f"job {i + 1:2d} {Path(request.model_path).name:6s} "
                      f"{request.width}² x{request.batch_size}  RSS {rss[-1] / MIB:7.1f} MiB"
                      + (f"  FAILED: {failed}" if failed else "")
                      + ("  (OOM injected, retried)" if injected else ""),
                      flush=True)  # fmt: skip
        finally:
            worker.shutdown(5.0)
        seconds = time.perf_counter() - started
    del app
    warm = rss[WARM_JOB - 1]
    growth = (rss[-1] - warm) / MIB
    per_job = detrended_slope(rss, names)
    ok = growth <= GROWTH_BOUND_MIB and per_job <= SLOPE_BOUND_MIB and not failures
    print(
        f"\n{len(rss)} jobs in {seconds:.0f} s; {notes} recovered from an injected OOM; "
        f"{failures} failed.\nRSS at job {WARM_JOB}: {warm / MIB:.1f} MiB, at job {len(rss)}: "
        f"{rss[-1] / MIB:.1f} MiB, peak after a job {max(rss) / MIB:.1f} MiB.\n"
        f"Growth job {WARM_JOB}->{len(rss)}: {growth:+.1f} MiB ({growth * MIB / warm:+.1%}); "
        f"slope {per_job:+.3f} MiB/job (per-model levels removed). "
        f"Bound: <= {GROWTH_BOUND_MIB:.0f} MiB and <= {SLOPE_BOUND_MIB} MiB/job: "
        f"{'within' if ok else 'EXCEEDED'}."
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
