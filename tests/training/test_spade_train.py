"""`studio train spade` on tiny data: determinism, resume, output the GAN engine loads, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from studio.app.cli import main
from studio.engine.gan.requests import SpadeRequest
from studio.engine.gan.spade_model import load_spade, render
from studio.engine.starter import vocab
from studio.training.dataset import DatasetWriter, PairedDataset
from studio.training.spade_train import (
    SpadeTrainConfig,
    TrainingError,
    l1_weight,
    prepare_pair,
    select_ids,
    train,
)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Six 40x40 pairs: sky over grass, the horizon at a random height, one unlabeled corner."""
    root = tmp_path_factory.mktemp("pairs")
    writer = DatasetWriter(root)
    rng = np.random.default_rng(0)
    for i in range(6):
        labels = np.full((40, 40), vocab.material_value("sky"), np.uint16)
        labels[int(rng.integers(12, 30)) :] = vocab.material_value("grass")
        labels[:4, :4] = 0
        image = np.where(labels[..., None] == 1, [90, 140, 220], [60, 150, 50]).astype(np.uint8)
        meta = {"time": "day" if i % 2 else "night", "weather": ("clear", "foggy", "cloudy")[i % 3]}
        writer.write(f"{i:03d}", image, labels, meta)
    writer.finish()
    return root


def _cfg(data, out, **kw) -> SpadeTrainConfig:
    base = dict(
        data=str(data), out=str(out), size=32, crop=32, steps=4, batch=2, holdout=2,
        widths=(16, 16, 16, 16, 8, 8, 8, 8), hidden=8, threads=None, checkpoint_every=2,
        sample_every_minutes=1000, sample_count=2, l1_steps=4,
    )  # fmt: skip
    return SpadeTrainConfig(**{**base, **kw})


def _weights(run):
    return load_file(str(run / "checkpoints" / "last.safetensors"))


def test_same_seed_same_weights_and_the_engine_loads_the_result(tiny_data, tmp_path):
    lines: list[str] = []
    run_a = train(_cfg(tiny_data, tmp_path / "a"), log=lines.append)
    run_b = train(_cfg(tiny_data, tmp_path / "b"), log=lambda _: None)
    a, b = _weights(run_a), _weights(run_b)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(k.startswith("opt_d.") for k in a) and any(k.startswith("d.") for k in a)
    other = _weights(train(_cfg(tiny_data, tmp_path / "c", seed=1), log=lambda _: None))
    assert not torch.equal(a["g.conv_img.weight"], other["g.conv_img.weight"])
    assert any("ETA" in line and "step 4/4" in line for line in lines)
    assert list((run_a / "samples").glob("step_*.png"))
    model = run_a / "model" / "starter-spade.safetensors"
    sidecar = json.loads(model.with_suffix(".json").read_text())
    assert sidecar["starter"] is True and sidecar["label_set"] == "landscape"
    assert all(v.dtype == torch.float16 for v in load_file(str(model)).values())
    loaded = load_spade(str(model))
    labels = PairedDataset(tiny_data)[0].labels
    image, unknown = render(loaded, SpadeRequest(str(model), labels, "landscape"))
    assert image.shape == (40, 40, 3) and image.dtype == np.uint8 and not unknown


def test_resume_continues_exactly(tiny_data, tmp_path):
    whole = _weights(train(_cfg(tiny_data, tmp_path / "whole"), log=lambda _: None))
    train(_cfg(tiny_data, tmp_path / "split", steps=2), log=lambda _: None)
    lines: list[str] = []
    resumed = _weights(train(_cfg(tiny_data, tmp_path / "split"), resume=True, log=lines.append))
    assert any("resumed" in line and "step 2" in line for line in lines)
    assert whole.keys() == resumed.keys()
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)


def test_bad_settings_are_plain_errors(tiny_data, tmp_path):
    with pytest.raises(TrainingError, match="no checkpoint"):
        train(_cfg(tiny_data, tmp_path / "none"), resume=True, log=lambda _: None)
    with pytest.raises(TrainingError, match="--steps or --max-minutes"):
        train(_cfg(tiny_data, tmp_path / "x", steps=None), log=lambda _: None)
    with pytest.raises(TrainingError, match="multiple of 32"):
        train(_cfg(tiny_data, tmp_path / "x", crop=40, size=40), log=lambda _: None)


def test_pairs_are_resized_cropped_and_unlabeled_is_all_zero(tiny_data):
    cfg = _cfg(tiny_data, "unused", size=64, crop=32)
    pair = PairedDataset(tiny_data)[0]
    picture, onehot = prepare_pair(pair, None, cfg)
    assert picture.shape == (3, 32, 32) and onehot.shape == (25, 32, 32)
    assert float(picture.min()) >= -1 and float(picture.max()) <= 1
    full, full_hot = prepare_pair(pair, None, _cfg(tiny_data, "unused", size=64, crop=64))
    assert torch.all(full_hot[:, :6, :6].sum(0) == 0)  # the unlabeled corner: no channel
    assert torch.all(full_hot.sum(0)[8:] == 1)
    assert l1_weight(0, cfg) == cfg.l1_start and l1_weight(10**6, cfg) == cfg.l1_end


def test_cli_trains_the_starter_width_model(tiny_data, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["train", "spade", "--data", str(tiny_data), "--out", str(out), "--size", "32"]
    args += ["--crop", "32", "--batch", "2", "--steps", "2", "--holdout", "2", "--seed", "3"]
    assert main(args) == 0
    assert "done: 2 steps" in capsys.readouterr().err
    assert (out / "model" / "starter-spade.safetensors").is_file()
    assert main(args[:-6] + ["--steps", "2", "--crop", "48"]) == 2
    assert "multiple of 32" in capsys.readouterr().err


def test_only_trains_on_the_pairs_whose_meta_matches(tiny_data, tmp_path):
    ds = PairedDataset(tiny_data)
    ids = [f"{i:03d}" for i in range(6)]
    assert select_ids(ds, ids, ()) == ids
    assert select_ids(ds, ids, ("time=day",)) == ["001", "003", "005"]
    assert select_ids(ds, ids, ("time=day", "weather=clear,cloudy")) == ["003", "005"]
    lines: list[str] = []
    run = train(_cfg(tiny_data, tmp_path / "day", only=("time=day",)), log=lines.append)
    assert "on 2 pairs" in lines[0] and "only time=day" in lines[0]  # 001, 003 (005 held out)
    sidecar = json.loads((run / "model" / "starter-spade.json").read_text())
    assert sidecar["trained_on"] == ["time=day"]
    with pytest.raises(TrainingError, match="KEY=VALUE"):
        train(_cfg(tiny_data, tmp_path / "bad", only=("time",)), log=lambda _: None)
    with pytest.raises(TrainingError, match="No training pairs match"):
        train(_cfg(tiny_data, tmp_path / "none", only=("time=dawn",)), log=lambda _: None)
