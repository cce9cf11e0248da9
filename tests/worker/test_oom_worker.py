"""An out-of-memory injected mid-job on the real generation thread: retried, then normal."""

from __future__ import annotations

import numpy as np

from studio.engine.diffusion.engine import DiffusionEngine
from studio.worker.worker import GenerationWorker
from tests.engine.memory.test_oom_retry import FailingUNet, job


def test_injected_oom_is_recovered_and_the_next_job_runs_normally(qtbot, tiny_sd_path):
    import torch

    engine = DiffusionEngine()
    worker = GenerationWorker(engine)
    results, failures = [], []
    worker.job_finished.connect(lambda _job, result: results.append(result))
    worker.job_failed.connect(lambda *args: failures.append(args))
    try:
        request = job(tiny_sd_path, batch_size=1, batch_count=1)
        with qtbot.waitSignal(worker.job_finished, timeout=60000):
            worker.submit(request, "reference")
        unet = engine.cache.get(str(tiny_sd_path), "cpu", "float32").txt2img.unet
        error = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 3.00 GiB")
        failing = FailingUNet(unet, error, at=3)  # the third UNet call fails, once
        unet.forward = failing
        with qtbot.waitSignal(worker.job_finished, timeout=60000):
            worker.submit(request, "runs out of memory at step 3")
        with qtbot.waitSignal(worker.job_finished, timeout=60000):
            worker.submit(request, "the next job")
    finally:
        assert worker.shutdown(2.0)
    reference, retried, after = results
    assert not failures
    assert failing.failed and failing.calls > 3  # it failed once, then the retry ran
    assert retried.recipe["memory_retry"] == "Ran out of memory; retried with tiled VAE."
    assert "memory_retry" not in after.recipe and "memory_plan" not in after.recipe
    np.testing.assert_array_equal(after.image, reference.image)  # normal settings again
