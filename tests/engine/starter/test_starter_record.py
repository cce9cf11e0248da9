"""The starter's runs are recorded step by step like any model's: pixels, sigmas, cancel, cap."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from studio.engine.requests import GenerationRequest
from studio.engine.starter.engine import StarterEngine
from studio.engine.starter.model import load_starter
from studio.engine.starter.sampling import make_scheduler
from studio.io.run_views import resized
from tests.starter_models import save_tiny_starter_diffusion

FRAME_BYTES = 3 * 32 * 32 * 3  # x_t, x0 and noise removed at the tiny starter's 32² pixels


@pytest.fixture(scope="module")
def starter_dir(tmp_path_factory):
    return save_tiny_starter_diffusion(tmp_path_factory.mktemp("models") / "tiny-starter")


def _run(folder, cancel_at=None, **kw):
    base = dict(model_path=str(folder), prompt="sunset over a lake", num_inference_steps=5,
                guidance_scale=3.0, seed=3, width=48, height=40)  # fmt: skip
    previews, cancel = [], threading.Event()

    def on_step(preview):
        previews.append(preview)
        if preview.step == cancel_at:
            cancel.set()

    result = StarterEngine().run(GenerationRequest(**{**base, **kw}), on_step, cancel)
    return result, [p for p in previews if p.phase == "denoising"]


def _schedule(folder, steps: int):
    scheduler = make_scheduler(load_starter(folder).cfg)
    scheduler.set_timesteps(steps)
    return [float(t) for t in scheduler.timesteps], [float(s) for s in scheduler.sigmas]


def test_one_frame_per_step_in_pixels_growing_live(starter_dir):
    result, previews = _run(starter_dir)
    record = result.record
    assert [f.step for f in record.frames] == [1, 2, 3, 4, 5]
    assert (record.total, record.width, record.height) == (5, 48, 40)
    assert record.space == "pixels" and not record.decodable
    assert record.family == "starter" and record.sampler == "dpmsolver++"
    for frame, preview in zip(record.frames, previews, strict=True):
        assert frame.xt.shape == frame.x0.shape == frame.noise.shape == (32, 32, 3)
        assert np.array_equal(frame.x0, preview.image)  # the pixels the canvas showed
        assert frame.x0_latent is None and frame.seconds > 0
        assert frame.full_bytes == FRAME_BYTES
    assert [len(p.record) for p in previews] == [1, 2, 3, 4, 5]  # the live record grows
    assert previews[2].record.frames == record.frames[:3]
    assert np.ptp(record.frames[0].noise) == 0  # flat grey: nothing before the first step
    assert record.frames[1].noise.std() > 0 and record.frames[1].change > 0
    noisy = [float(np.abs(f.xt.astype(int) - f.x0.astype(int)).mean()) for f in record.frames]
    assert noisy[0] > 10 * noisy[-1]  # x_t starts as noise and ends as the picture


def test_timesteps_and_sigmas_follow_the_schedule(starter_dir):
    result, _ = _run(starter_dir)
    timesteps, sigmas = _schedule(starter_dir, 5)
    frames = result.record.frames
    assert [f.timestep for f in frames] == timesteps
    assert [f.sigma for f in frames] == pytest.approx(sigmas[:-1])
    assert [f.sigma_next for f in frames] == pytest.approx(sigmas[1:])
    assert frames[-1].sigma_next == 0.0
    alphas = make_scheduler(load_starter(starter_dir).cfg).alphas_cumprod
    t = int(frames[2].timestep)
    assert frames[2].sigma == pytest.approx(math.sqrt((1 - alphas[t]) / alphas[t]), rel=1e-4)


def test_img2img_records_the_last_steps_of_the_schedule(starter_dir):
    picture = np.full((40, 48, 3), 120, np.uint8)
    result, _ = _run(starter_dir, init_image=picture, strength=0.6)
    timesteps, sigmas = _schedule(starter_dir, 5)
    frames = result.record.frames
    assert [f.step for f in frames] == [1, 2, 3] and result.record.total == 3
    assert [f.timestep for f in frames] == timesteps[2:]
    assert [f.sigma for f in frames] == pytest.approx(sigmas[2:-1])


def test_cancel_keeps_the_partial_record(starter_dir):
    result, previews = _run(starter_dir, cancel_at=2)
    assert result.draft and [f.step for f in result.record.frames] == [1, 2]
    assert result.record.total == 5
    last = result.record.frames[-1]
    assert np.array_equal(last.x0, previews[-1].image)
    # the Timeline upscales a step as the engine does: the draft is step 2's x0 at 48x40
    assert np.array_equal(resized(last.x0, 48, 40), result.image)


def test_batch_count_records_every_run_and_the_cap_drops_the_oldest(starter_dir):
    result, _ = _run(starter_dir, num_inference_steps=3, batch_count=2, record_cap_bytes=0)
    frames = result.record.frames
    assert [f.step for f in frames] == [1, 2, 3, 4, 5, 6] and result.record.total == 6
    assert frames[3].change == 0.0  # a new run starts: nothing to compare with
    assert result.record.dropped == 6 and not any(f.has_full for f in frames)
    assert all(f.thumb_x0.shape == (32, 32, 3) for f in frames)  # thumbnails stay
    capped, _ = _run(starter_dir, record_cap_bytes=2 * FRAME_BYTES)
    kept = [f.has_full for f in capped.record.frames]
    assert kept == [False, False, False, True, True] and capped.record.dropped == 3
