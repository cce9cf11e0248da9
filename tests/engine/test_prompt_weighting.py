"""A1111 weighting and long prompts on tiny SD 1.x, 2.x and SDXL pipelines."""

from __future__ import annotations

import numpy as np
import pytest

from studio.engine.diffusion.engine import DiffusionEngine
from studio.engine.diffusion.family import FAMILY
from studio.engine.diffusion.walk import _encode
from studio.engine.diffusion.weighting import (
    CHUNK,
    chunks,
    encoders,
    token_count,
    weighted_kwargs,
)
from studio.engine.inputs import GenerateParams, Inputs
from studio.engine.recipe import request_from_recipe
from studio.io.settings_from_png import parse_a1111
from tests.engine.test_diffusion_engine import request_for, run

FAMILIES = ("sd1", "sd2", "sdxl")


@pytest.fixture(scope="module")
def engine() -> DiffusionEngine:
    return DiffusionEngine()


@pytest.fixture(scope="module")
def pipes(tiny_models):
    from diffusers import DiffusionPipeline

    out = {f: DiffusionPipeline.from_pretrained(tiny_models.folder(f)) for f in FAMILIES}
    for family in ("sd1", "sd2"):  # a layer-normed output with a mean away from 0, as real
        # encoders have (a random one's is ~1e-8 and A1111's mean restore is then meaningless)
        out[family].text_encoder.final_layer_norm.bias.data.fill_(-0.3)
    return out


def _torch():
    import torch

    return torch


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("negative", ["", "blurry, dark"])
def test_plain_short_prompt_is_exactly_the_pipelines_own_encoding(pipes, family, negative):
    torch = _torch()
    pipe = pipes[family]
    with torch.inference_mode():
        own = _encode(pipe, "a red barn by a lake", negative)
        ours = weighted_kwargs(pipe, "a red barn by a lake", negative)
    assert own.keys() == ours.keys()
    for name, value in own.items():
        assert torch.equal(value, ours[name]), name


@pytest.mark.parametrize("family", FAMILIES)
def test_weights_scale_rows_then_restore_the_mean(pipes, family):
    torch = _torch()
    pipe = pipes[family]
    with torch.inference_mode():
        plain = weighted_kwargs(pipe, "ab cd", "")["prompt_embeds"]
        heavy = weighted_kwargs(pipe, "ab (cd:1.8)", "")["prompt_embeds"]
        light = weighted_kwargs(pipe, "ab [cd]", "")["prompt_embeds"]
    assert abs(plain.mean().item()) > 0.01
    assert heavy.mean().item() == pytest.approx(plain.mean().item(), rel=1e-5)
    width = encoders(pipe)[0].model.config.hidden_size
    # start token, a, b</w>, c, d</w>: rows 3-4 carry the weight; every row gets the same
    # mean-restoring factor, so weighted/unweighted rows differ by exactly 1.8 in ratio
    ratio = heavy[0, :, :width] / plain[0, :, :width]
    factor = ratio[1].mean()
    assert torch.allclose(ratio[3:5], 1.8 * factor * torch.ones_like(ratio[3:5]), rtol=1e-4)
    assert torch.allclose(ratio[:3], factor * torch.ones_like(ratio[:3]), rtol=1e-4)
    assert not torch.equal(light, plain)


def test_chunks_cut_at_75_at_a_nearby_comma_and_at_break(pipes):
    tok = pipes["sd1"].tokenizer  # character-level: one token per character
    assert [len(c.ids) for c in chunks(tok, "x" * 100)] == [CHUNK, 25]
    # the comma sits at 60: the 15 "b" past it move to the next chunk (A1111's backtrack)
    assert [len(c.ids) for c in chunks(tok, "a" * 60 + ", " + "b" * 20)] == [61, 20]
    assert [len(c.ids) for c in chunks(tok, "a" * 40 + ", " + "b" * 40)] == [CHUNK, 6]
    assert [len(c.ids) for c in chunks(tok, "abc BREAK de")] == [3, 2]
    weights = chunks(tok, "ab (cd:1.5)")[0].weights
    assert weights == [1.0, 1.0, 1.5, 1.5]
    assert token_count(pipes["sd1"], "x" * 100) == 100


@pytest.mark.parametrize("family", FAMILIES)
def test_long_prompts_and_negatives_pad_to_the_same_chunks(pipes, family):
    torch = _torch()
    with torch.inference_mode():
        out = weighted_kwargs(pipes[family], "x" * 160, "short")
        empty = weighted_kwargs(pipes[family], "", "")
    assert out["prompt_embeds"].shape[1] == out["negative_prompt_embeds"].shape[1] == 3 * 77
    if family != "sdxl":  # SDXL zeroes an empty negative; others pad with the empty chunk
        pad = empty["prompt_embeds"][0]
        assert torch.equal(out["negative_prompt_embeds"][0, 77:154], pad)


def _params(prompt: str, negative: str = "", **kw) -> GenerateParams:
    values = dict(prompt=prompt, negative_prompt=negative, steps=3, width=64, height=64)
    values.update(sampler="Euler", device="cpu", dtype="float32", seed=7)
    values.update(kw)
    return GenerateParams(**values)


def test_family_asks_for_a1111_only_when_the_prompt_needs_it(tiny_sd_path):
    def built(*args, **kw):
        return FAMILY.build_request("prompt", str(tiny_sd_path), _params(*args, **kw), inputs)

    inputs = Inputs((64, 64))
    plain = built("a red barn, oil on canvas")
    assert plain.request.prompt_syntax == "plain"
    assert "prompt_syntax" not in plain.request.describe()  # recipes of plain prompts unchanged
    assert built("a (red:1.2) barn").request.prompt_syntax == "a1111"
    assert built("a barn", "[blurry]").request.prompt_syntax == "a1111"
    assert built("word " * 20).request.prompt_syntax == "a1111"  # may pass 75 tokens
    assert built("a (red) barn", prompt_syntax="plain").request.prompt_syntax == "plain"


@pytest.mark.parametrize("family", FAMILIES)
def test_engine_runs_weighting_and_keeps_it_in_the_recipe(engine, tiny_models, family):
    path = tiny_models.folder(family)
    plain, _ = run(engine, request_for(path, prompt="a red barn"))
    same, _ = run(engine, request_for(path, prompt="a red barn", prompt_syntax="a1111"))
    assert np.array_equal(plain.image, same.image)  # no weights: the pipeline's own picture
    weighted, steps = run(
        engine, request_for(path, prompt="a (red:1.6) barn", prompt_syntax="a1111")
    )
    literal, _ = run(engine, request_for(path, prompt="a (red:1.6) barn"))
    assert not np.array_equal(weighted.image, literal.image)
    assert len(steps) == 1 + 4  # loading + one preview per step, as every run
    assert weighted.recipe["prompt_syntax"] == "a1111"
    assert weighted.recipe["request"]["prompt_syntax"] == "a1111"
    again = request_from_recipe(weighted.recipe)
    assert again.prompt_syntax == "a1111"
    rerun, _ = run(engine, again)
    assert np.array_equal(rerun.image, weighted.image)
    negative, _ = run(
        engine,
        request_for(
            path, prompt="a red barn", negative_prompt="(blurry:1.7)", prompt_syntax="a1111"
        ),
    )
    assert not np.array_equal(negative.image, plain.image)


def test_words_past_77_tokens_count_only_with_a1111(engine, tiny_sd_path):
    head = "x" * 80  # already past one chunk with the character-level tokenizer
    a = request_for(tiny_sd_path, prompt=head + " red")
    b = request_for(tiny_sd_path, prompt=head + " blue")
    plain_a, plain_b = run(engine, a)[0], run(engine, b)[0]
    assert np.array_equal(plain_a.image, plain_b.image)  # diffusers truncates at 77
    long_a = run(engine, request_for(tiny_sd_path, prompt=a.prompt, prompt_syntax="a1111"))[0]
    long_b = run(engine, request_for(tiny_sd_path, prompt=b.prompt, prompt_syntax="a1111"))[0]
    assert not np.array_equal(long_a.image, long_b.image)


def test_walk_and_batches_use_the_weighting(engine, tiny_sd_path):
    kw = dict(prompt="a (red:1.5) barn", prompt_syntax="a1111")
    alone, _ = run(engine, request_for(tiny_sd_path, **kw))
    walked, _ = run(engine, request_for(tiny_sd_path, prompt_b="x" * 90, prompt_mix=0.0, **kw))
    assert np.array_equal(alone.image, walked.image)
    half, _ = run(engine, request_for(tiny_sd_path, prompt_b="x" * 90, prompt_mix=0.5, **kw))
    assert not np.array_equal(alone.image, half.image)
    batch, _ = run(engine, request_for(tiny_sd_path, batch_count=2, **kw))
    assert np.array_equal(batch.images[0], alone.image)


A1111_TEXT = """masterpiece, (red barn:1.3), [fog], field
Negative prompt: (blurry:1.2), lowres
Steps: 3, Sampler: Euler, CFG scale: 6, Seed: 7, Size: 64x64, Model: tiny"""


def test_a1111_png_settings_reproduce_their_weighting(engine, tiny_sd_path):
    settings = parse_a1111(A1111_TEXT)
    params = GenerateParams.from_values(
        {"prompt": settings["prompt"], "negative_prompt": settings["negative_prompt"]},
        steps=3,
        width=64,
        height=64,
        sampler="Euler",
        seed=7,
        device="cpu",
        dtype="float32",
    )
    built = FAMILY.build_request("prompt", str(tiny_sd_path), params, Inputs((64, 64)))
    assert built.request.prompt_syntax == "a1111"
    assert built.request.prompt == "masterpiece, (red barn:1.3), [fog], field"
    result, _ = run(engine, built.request)
    unweighted = request_for(
        tiny_sd_path,
        prompt="masterpiece, red barn, fog, field",
        negative_prompt="blurry, lowres",
        num_inference_steps=3,
        guidance_scale=7.0,
        seed=7,
    )
    assert not np.array_equal(result.image, run(engine, unweighted)[0].image)
