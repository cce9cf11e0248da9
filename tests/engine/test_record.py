"""The step recorder: one frame per visible step for every sampler, sigmas, memory cap, drafts."""

from __future__ import annotations

import numpy as np
import pytest

from studio.engine.diffusion.engine import DiffusionEngine
from studio.engine.diffusion.previews import latent_to_rgb
from studio.engine.diffusion.samplers import make_scheduler
from studio.engine.record import StepRecorder
from studio.errors import InvalidRequestError
from tests.engine.test_diffusion_engine import request_for, run

SAMPLERS = ["Euler", "Euler a", "Heun", "LMS", "DPM++ 2M", "DPM++ 2M Karras", "DDIM", "PLMS"]
SAMPLERS += ["UniPC", "DDPM", "DPM++ 2M SDE Karras"]


@pytest.fixture(scope="module")
def engine() -> DiffusionEngine:
    return DiffusionEngine()


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_one_frame_per_step_with_consistent_sigmas(engine, tiny_sd_path, sampler):
    request = request_for(tiny_sd_path, sampler=sampler, num_inference_steps=5)
    result, previews = run(engine, request)
    frames = result.record.frames
    assert [f.step for f in frames] == [1, 2, 3, 4, 5]
    sigmas = np.array([f.sigma for f in frames])
    nexts = np.array([f.sigma_next for f in frames])
    assert np.all(np.isfinite(sigmas)) and np.all(np.diff(sigmas) < 0), sigmas
    np.testing.assert_allclose(nexts[:-1], sigmas[1:], rtol=1e-4)
    assert nexts[-1] < sigmas[-1]
    assert np.all(np.diff([f.timestep for f in frames]) < 0)
    assert all(f.seconds > 0 for f in frames)
    # the streamed previews are the recorded x0 of the same step (linear previews)
    streamed = [p for p in previews if p.image is not None]
    assert len(streamed) == len(frames)
    np.testing.assert_array_equal(streamed[-1].image, frames[-1].x0)


def test_heun_records_the_euler_sigma_schedule_once_per_step(engine, tiny_sd_path):
    request = request_for(tiny_sd_path, sampler="Heun", num_inference_steps=6)
    result, _ = run(engine, request)
    base = make_scheduler(result.recipe["scheduler_config"], "Euler")
    base.set_timesteps(6)
    expected = base.sigmas.numpy()
    np.testing.assert_allclose([f.sigma for f in result.record.frames], expected[:-1], rtol=1e-5)
    np.testing.assert_allclose(result.record.frames[-1].sigma_next, expected[-1], atol=1e-6)


def test_x_t_and_x0_meet_at_the_end(engine, tiny_sd_path):
    result, _ = run(engine, request_for(tiny_sd_path, sampler="Euler", num_inference_steps=5))
    first, last = result.record.frames[0], result.record.frames[-1]
    assert first.change == 0.0 and all(f.change > 0 for f in result.record.frames[1:])
    # after the last Euler step sigma is 0: the noisy state is the clean prediction
    np.testing.assert_array_equal(last.xt, last.x0)
    assert not np.array_equal(first.xt, first.x0)
    assert first.noise.shape == first.xt.shape
    assert first.x0_latent.dtype == np.float16 and first.x0_latent.shape == (4, 8, 8)


def test_cancelled_run_keeps_its_record(engine, tiny_sd_path):
    result, _ = run(engine, request_for(tiny_sd_path, num_inference_steps=6), cancel_at=3)
    assert result.draft
    assert [f.step for f in result.record.frames] == [1, 2, 3]
    assert result.record.total == 6


def test_every_streamed_step_carries_the_record_so_far(engine, tiny_sd_path):
    request = request_for(tiny_sd_path, sampler="Heun", num_inference_steps=5)
    result, previews = run(engine, request)
    streamed = [p for p in previews if p.phase == "denoising"]
    assert [len(p.record.frames) for p in streamed] == [1, 2, 3, 4, 5]
    for preview in streamed:  # the same frozen frames the result ends with
        frames = preview.record.frames
        assert all(a is b for a, b in zip(frames, result.record.frames[: len(frames)], strict=True))
        assert (preview.record.total, preview.record.width) == (5, 64)
        assert preview.record.frames[-1].step == preview.step
    assert not streamed[0].record.frames[0].x0.flags.writeable


def test_memory_cap_drops_oldest_full_frames_first(engine, tiny_sd_path):
    one = run(engine, request_for(tiny_sd_path, num_inference_steps=2))[0].record.frames[0]
    cap = int(one.full_bytes * 2.5)
    result, _ = run(engine, request_for(tiny_sd_path, num_inference_steps=6, record_cap_bytes=cap))
    frames = result.record.frames
    assert len(frames) == 6
    assert [f.has_full for f in frames] == [False] * 4 + [True] * 2
    assert all(f.x0_latent is None and f.xt is None and f.noise is None for f in frames[:4])
    assert sum(f.full_bytes for f in frames) <= cap
    assert all(f.thumb_x0.shape == f.thumb_xt.shape for f in frames)
    assert result.record.dropped == 4


def test_cap_zero_keeps_only_thumbnails(engine, tiny_sd_path):
    result, _ = run(engine, request_for(tiny_sd_path, num_inference_steps=3, record_cap_bytes=0))
    assert len(result.record) == 3 and not any(f.has_full for f in result.record.frames)


def test_thumbnails_are_small():
    from studio.engine.record import thumbnail

    assert thumbnail(np.zeros((128, 96, 3), np.uint8)).shape == (48, 36, 3)
    assert thumbnail(np.zeros((20, 30, 3), np.uint8)).shape == (20, 30, 3)


def test_recorder_cap_is_counted_in_bytes():
    import torch

    recorder = StepRecorder("sd1", 0, lambda state: latent_to_rgb(state, "sd1"))
    assert recorder.full_bytes == 0
    scheduler = make_scheduler(
        {"num_train_timesteps": 1000, "beta_schedule": "scaled_linear"}, "DDIM"
    )
    scheduler.set_timesteps(2)
    for step, t in enumerate(scheduler.timesteps, 1):
        recorder.step_called(scheduler, t)
        recorder.step_done(scheduler, torch.zeros(1, 4, 8, 8), None, step)
    assert len(recorder.frames) == 2 and recorder.full_bytes == 0


def test_a_recorded_step_decodes_with_the_full_vae(engine, tiny_sd_path):
    from studio.engine.requests import DecodeRequest

    request = request_for(tiny_sd_path, sampler="Euler", num_inference_steps=3)
    result, _ = run(engine, request)
    last = result.record.frames[-1]
    decode = DecodeRequest(str(tiny_sd_path), last.x0_latent, 64, 64, None, "cpu", "float32", 3)
    decoded, previews = run(engine, decode)
    assert previews == [] and decoded.image.shape == (64, 64, 3)
    # the last step's x0 is what the pipeline decodes (within float16 storage and rounding)
    error = np.abs(decoded.image.astype(int) - result.image.astype(int))
    assert error.mean() < 1.0 and error.max() <= 8
    wrong = DecodeRequest(str(tiny_sd_path), np.zeros((3, 8, 8)), 64, 64, None, "cpu", "float32")
    with pytest.raises(InvalidRequestError, match="3 latent channels"):
        run(engine, wrong)
