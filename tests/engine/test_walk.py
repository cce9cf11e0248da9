"""Walking between prompts and seeds: the ends are exactly the two plain runs."""

from __future__ import annotations

import numpy as np
import pytest

from studio.engine.diffusion.engine import DiffusionEngine
from studio.errors import InvalidRequestError
from studio.session.explore import walk_requests
from tests.engine.test_diffusion_engine import request_for, run


@pytest.fixture(scope="module")
def engine() -> DiffusionEngine:
    return DiffusionEngine()


def test_prompt_mix_ends_are_the_two_prompts(engine, tiny_sd_path):
    a, _ = run(engine, request_for(tiny_sd_path, prompt="a red barn"))
    b, _ = run(engine, request_for(tiny_sd_path, prompt="a blue sea"))
    kw = dict(prompt="a red barn", prompt_b="a blue sea")
    at0, _ = run(engine, request_for(tiny_sd_path, prompt_mix=0.0, **kw))
    at1, _ = run(engine, request_for(tiny_sd_path, prompt_mix=1.0, **kw))
    half, _ = run(engine, request_for(tiny_sd_path, prompt_mix=0.5, **kw))
    assert not np.array_equal(a.image, b.image)
    assert np.array_equal(at0.image, a.image) and np.array_equal(at1.image, b.image)
    assert not np.array_equal(half.image, a.image) and not np.array_equal(half.image, b.image)
    assert half.recipe["prompt_b"] == "a blue sea" and half.recipe["prompt_mix"] == 0.5
    with pytest.raises(InvalidRequestError, match="prompt mix must be between 0 and 1"):
        run(engine, request_for(tiny_sd_path, prompt_mix=1.5, **kw))


def test_seed_and_prompt_walk_ends_equal_the_two_seeds_images(engine, tiny_sd_path):
    start = request_for(tiny_sd_path, prompt="a red barn", seed=11, sampler="Euler a")
    end = request_for(tiny_sd_path, prompt="a blue sea", seed=12345, sampler="Euler a")
    frames = walk_requests(start, seed_b=12345, prompt_b="a blue sea", frames=4)
    assert [r.variation_strength for r in frames[1:3]] == pytest.approx([1 / 3, 2 / 3])
    assert [r.prompt_mix for r in frames[1:3]] == pytest.approx([1 / 3, 2 / 3])
    assert (frames[-1].seed, frames[-1].prompt) == (12345, "a blue sea")
    images = [run(engine, r)[0].image for r in frames]
    assert np.array_equal(images[0], run(engine, start)[0].image)
    assert np.array_equal(images[-1], run(engine, end)[0].image)
    for i in range(3):
        assert not np.array_equal(images[i], images[i + 1])


@pytest.mark.parametrize("sampler", ["Euler a", "DPM++ 2M SDE Karras", "DDPM"])
def test_variation_strength_zero_is_the_seed_for_stochastic_samplers(engine, tiny_sd_path, sampler):
    base = request_for(tiny_sd_path, seed=5, sampler=sampler)
    plain, _ = run(engine, base)
    mixed, _ = run(engine, request_for(tiny_sd_path, seed=5, sampler=sampler, variation_seed=9))
    assert np.array_equal(plain.image, mixed.image)
