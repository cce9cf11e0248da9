"""Automatic precision: measured per family on a representative block, remembered per machine."""

from __future__ import annotations

import itertools
import json

import pytest

from studio.engine.memory import precision
from studio.engine.memory.device import choose_dtype

REAL_VERDICT = precision.cpu_verdict  # conftest pins Automatic to float32; these tests measure


@pytest.fixture
def measured(monkeypatch, tmp_path):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(precision, "cpu_verdict", REAL_VERDICT)
    monkeypatch.setattr(precision, "_remembered", {})


def fake_clock(seconds: dict[str, float], order: list[str]):
    """A clock where every timed pass of dtype d takes seconds[d] (order: dtype per pass)."""
    ticks = itertools.count()
    state = {"now": 0.0}

    def clock() -> float:
        i = next(ticks)
        if i % 2 == 1:  # an end tick: the pass of the dtype being timed took its seconds
            state["now"] += seconds[order[-1]]
        return state["now"]

    return clock


def counting_probe(calls: list[str], order: list[str]):
    def build(dtype: str):
        calls.append(dtype)
        order.append(dtype)
        return lambda: None

    return build


def test_the_faster_dtype_wins_and_is_remembered_per_family(measured):
    calls, order = [], []
    clock = fake_clock({"float32": 2.0, "bfloat16": 1.0}, order)
    verdict = precision.cpu_verdict("sd1", counting_probe(calls, order), clock)
    assert verdict["dtype"] == "bfloat16" and calls == ["float32", "bfloat16"]
    assert verdict["seconds"] == {"float32": 2.0, "bfloat16": 1.0}
    # the next start (a fresh process: nothing in memory) reads it from the user data folder
    precision._remembered.clear()
    again = precision.cpu_verdict("sd1", counting_probe(calls, order), clock)
    assert again["dtype"] == "bfloat16" and calls == ["float32", "bfloat16"]  # not measured
    stored = json.loads(precision.store_path().read_text())
    assert [k.split(" | ")[-1] for k in stored] == ["sd1"]
    assert "torch " in next(iter(stored))  # keyed by the torch version too
    # another family is measured on its own block
    slow_bf16 = fake_clock({"float32": 1.0, "bfloat16": 1.5}, order)
    assert precision.cpu_verdict("starter", counting_probe(calls, order), slow_bf16)["dtype"] == (
        "float32"
    )
    assert len(calls) == 4


def test_a_tie_keeps_float32(measured):
    order = []
    clock = fake_clock({"float32": 1.0, "bfloat16": 0.97}, order)  # 3 % is within the noise
    assert precision.cpu_verdict("sd2", counting_probe([], order), clock)["dtype"] == "float32"


def test_choose_dtype_uses_the_family_verdict_and_gpus_use_half(measured, monkeypatch):
    seen = []
    monkeypatch.setattr(
        precision,
        "cpu_verdict",
        lambda family, probe=None: (
            seen.append(family)
            or {"dtype": "bfloat16", "seconds": {"float32": 2.0, "bfloat16": 1.0}}
        ),
    )
    assert choose_dtype("cpu", None, "sdxl") == "bfloat16" and seen == ["sdxl"]
    assert choose_dtype("cpu", "float32", "sdxl") == "float32" and seen == ["sdxl"]
    assert choose_dtype("cuda", "auto", "sd1") == "float16" and seen == ["sdxl"]
    note = precision.recipe_note(None, "cpu", "sdxl")
    assert "bfloat16" in note and "2.00x" in note


def test_the_sd_probe_block_runs_in_both_precisions():
    run32 = precision.probe_for("sd1")("float32")
    run16 = precision.probe_for("sd1")("bfloat16")
    out32, out16 = run32()[0], run16()[0]
    assert out32.shape == out16.shape and str(out16.dtype) == "torch.bfloat16"
