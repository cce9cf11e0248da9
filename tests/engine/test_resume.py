"""Continue a draft: a cancelled run resumed from its last step equals the uninterrupted run."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from studio.engine.diffusion.engine import DiffusionEngine
from studio.errors import InvalidRequestError
from tests.engine.test_diffusion_engine import request_for, run


@pytest.fixture(scope="module")
def engine() -> DiffusionEngine:
    return DiffusionEngine()


SAMPLERS = ["Euler", "Euler a", "DPM++ 2M", "DPM++ 2M SDE Karras", "Heun", "PLMS", "UniPC"]


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_resumed_draft_equals_the_uninterrupted_run(engine, tiny_sd_path, sampler):
    request = request_for(tiny_sd_path, sampler=sampler, num_inference_steps=6, seed=77)
    whole, _ = run(engine, request)
    draft, _ = run(engine, request, cancel_at=3)
    assert draft.draft and draft.resume is not None and draft.resume.steps_done == 3
    assert not np.array_equal(draft.image, whole.image)
    continued, previews = run(engine, replace(request, resume=draft.resume))
    assert not continued.draft and continued.steps_done == 6
    assert np.array_equal(continued.image, whole.image)
    assert [p.step for p in previews if p.image is not None] == [4, 5, 6]
    assert [f.step for f in continued.record.frames] == [4, 5, 6]
    assert continued.recipe["resumed_from_step"] == 3


def test_a_continued_run_can_be_stopped_and_continued_again(engine, tiny_sd_path):
    request = request_for(tiny_sd_path, sampler="Euler a", num_inference_steps=7, seed=5)
    whole, _ = run(engine, request)
    first, _ = run(engine, request, cancel_at=2)
    second, _ = run(engine, replace(request, resume=first.resume), cancel_at=5)
    assert second.draft and second.resume.steps_done == 5
    last, _ = run(engine, replace(request, resume=second.resume))
    assert np.array_equal(last.image, whole.image)


def test_resume_refuses_other_settings_and_modes(engine, tiny_sd_path):
    request = request_for(tiny_sd_path, num_inference_steps=4)
    draft, _ = run(engine, request, cancel_at=2)
    with pytest.raises(InvalidRequestError, match="its own sampler, steps and seed"):
        run(engine, replace(request, seed=request.seed + 1, resume=draft.resume))
    init = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(InvalidRequestError, match="Only prompt"):
        run(engine, replace(request, init_image=init, resume=draft.resume))
    img2img, _ = run(engine, replace(request, init_image=init, strength=1.0), cancel_at=2)
    assert img2img.draft and img2img.resume is None  # only prompt runs are resumable
