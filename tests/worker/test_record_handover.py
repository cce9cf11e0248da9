"""The step record bypasses the throttled preview mailbox: every step reaches the GUI thread."""

from __future__ import annotations

from studio.engine.diffusion.engine import DiffusionEngine
from studio.worker.worker import GenerationWorker
from tests.engine.test_diffusion_engine import request_for


def test_every_step_is_in_the_record_though_previews_are_throttled(qtbot, tiny_sd_path):
    worker = GenerationWorker(DiffusionEngine())
    previews, results = [], []
    worker.step_previewed.connect(lambda _job, p: previews.append(p.step))
    worker.job_finished.connect(lambda _job, result: results.append(result))
    try:
        request = request_for(tiny_sd_path, num_inference_steps=40, sampler="DPM++ 2M")
        with qtbot.waitSignal(worker.job_finished, timeout=60000):
            worker.submit(request, "forty steps")
        frames = results[0].record.frames
        # previews are throttled (newest wins, how many arrive depends on speed); the record,
        # handed over with the result, holds every step in order
        assert [f.step for f in frames] == list(range(1, 41))
        assert set(previews) <= {f.step for f in frames} | {0}
    finally:
        assert worker.shutdown(2.0)
