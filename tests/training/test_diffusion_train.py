"""`studio train diffusion` on a tiny dataset: determinism, resume, dropout, outputs, CLI."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from studio.app.cli import main
from studio.engine.starter import vocab
from studio.engine.starter.model import load_starter, tiny_config
from studio.engine.starter.sampling import sample
from studio.training.dataset import DatasetWriter, PairedDataset
from studio.training.diffusion_train import (
    DiffusionTrainConfig,
    TrainingError,
    crop_pair,
    make_batch,
    style_of,
    train,
)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Six 40x48 pairs: sky over grass, the horizon at a random height; styles from meta."""
    root = tmp_path_factory.mktemp("pairs")
    writer = DatasetWriter(root)
    rng = np.random.default_rng(0)
    for i in range(6):
        labels = np.full((40, 48), vocab.material_value("sky"), np.uint16)
        labels[int(rng.integers(12, 30)) :] = vocab.material_value("grass")
        image = np.where(labels[..., None] == 1, [90, 140, 220], [60, 150, 50]).astype(np.uint8)
        meta = {"time": vocab.TIMES[i % 4], "weather": "clear", "season": "summer"}
        writer.write(f"{i:03d}", image, labels, meta)
    writer.finish()
    return root


def _cfg(data, out, **kw) -> DiffusionTrainConfig:
    settings = dict(
        steps=4, batch=2, holdout=2, checkpoint_every=2, sample_count=2, sample_steps=2,
        sample_every_minutes=1000, warmup_steps=2, threads=None, model=tiny_config(),
    )  # fmt: skip
    settings.update(kw)
    return DiffusionTrainConfig(str(data), str(out), **settings)


def _weights(run):
    return load_file(str(run / "checkpoints" / "last.safetensors"))


def test_same_seed_same_weights_and_the_outputs_exist(tiny_data, tmp_path):
    lines = []
    run_a = train(_cfg(tiny_data, tmp_path / "a"), log=lines.append)
    run_b = train(_cfg(tiny_data, tmp_path / "b"), log=lambda _: None)
    a, b = _weights(run_a), _weights(run_b)
    assert a.keys() == b.keys() and any(k.startswith("ema.") for k in a)
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = _weights(train(_cfg(tiny_data, tmp_path / "c", seed=1, steps=2), log=lambda _: None))
    assert not all(torch.equal(a[k], other[k]) for k in a)
    assert any("step 2/4" in line and "ETA" in line and "loss" in line for line in lines)
    assert list((run_a / "samples").glob("step_000004.png"))
    info = json.loads((run_a / "checkpoints" / "last.json").read_text())
    assert info["step"] == 4 and info["config"]["seed"] == 0
    loaded = load_starter(run_a / "model")  # the EMA, as a starter folder (fp16 on disk)
    assert loaded.cfg == tiny_config()
    for key, value in loaded.unet.state_dict().items():
        assert torch.allclose(value, a[f"ema.{key}"], atol=1e-2), key
    assert sample(loaded, None, [1], 2).shape == (1, 32, 32, 3)


def test_resume_continues_exactly(tiny_data, tmp_path):
    whole = _weights(train(_cfg(tiny_data, tmp_path / "whole"), log=lambda _: None))
    train(_cfg(tiny_data, tmp_path / "split", steps=2), log=lambda _: None)
    lines = []
    resumed = _weights(train(_cfg(tiny_data, tmp_path / "split"), resume=True, log=lines.append))
    assert lines[0].startswith("resumed") and "step 2" in lines[0]
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)


def test_resume_without_checkpoint_and_no_stop_are_errors(tiny_data, tmp_path):
    with pytest.raises(TrainingError, match="no checkpoint"):
        train(_cfg(tiny_data, tmp_path / "none"), resume=True, log=lambda _: None)
    with pytest.raises(TrainingError, match="--steps or --max-minutes"):
        train(_cfg(tiny_data, tmp_path / "x", steps=None), log=lambda _: None)


def test_classifier_free_dropout_rates(tiny_data):
    cfg = _cfg(tiny_data, "unused")
    meta = {"time": "sunset", "weather": "cloudy", "season": "winter"}
    rng = np.random.default_rng(0)
    parts = [vocab.style_parts(style_of(meta, rng, cfg)) for _ in range(4000)]
    zero = np.mean([p == (None, None, None) for p in parts])
    only_sunset = np.mean([p == ("sunset", None, None) for p in parts])
    assert 0.15 < zero < 0.19  # 0.15 whole-style drop + 0.85 * 0.3³ all three dropped
    assert abs(only_sunset - 0.85 * 0.7 * 0.09) < 0.02
    assert all(p[0] in (None, "sunset") for p in parts)
    ds = PairedDataset(tiny_data)
    ids = ds.split(2)[0]
    cfg = _cfg(tiny_data, "unused", batch=8)
    maps = torch.cat([make_batch(ds, ids, step, cfg)[1] for step in range(20)])  # [160,25,h,w]
    dropped = float((maps.sum((1, 2, 3)) == 0).float().mean())
    assert 0.07 < dropped < 0.25


def test_crops_are_native_size_and_labels_follow_flips(tiny_data):
    cfg = _cfg(tiny_data, "unused", crop_min=1.0)
    pair = PairedDataset(tiny_data)[0]
    picture, onehot = crop_pair(pair, np.random.default_rng(3), cfg, 32)
    assert picture.shape == (3, 32, 32) and onehot.shape == (vocab.LABEL_CHANNELS, 16, 16)
    assert picture.min() >= -1 and picture.max() <= 1
    assert torch.allclose(onehot.sum(0), torch.ones(16, 16))
    sky = onehot[vocab.material_value("sky")]
    assert sky[0].mean() == 1.0 and sky[-1].mean() == 0.0  # sky on top, whatever the flip


def test_cli_trains_a_tiny_model(tiny_data, tmp_path, capsys):
    out = tmp_path / "cli-run"
    args = ["train", "diffusion", "--data", str(tiny_data), "--out", str(out), "--tiny"]
    code = main(args + ["--steps", "2", "--batch", "2", "--holdout", "2", "--threads", "1"])
    assert code == 0
    assert "done: 2 steps" in capsys.readouterr().err
    assert (out / "model" / "starter.json").is_file()
    assert (
        main(
            [
                "train",
                "diffusion",
                "--data",
                str(tmp_path / "no"),
                "--out",
                str(out),
                "--steps",
                "1",
            ]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err


def test_init_starts_from_a_starter_folder_and_refuses_another_architecture(tiny_data, tmp_path):
    first = train(_cfg(tiny_data, tmp_path / "a"), log=lambda _: None) / "model"
    lines = []
    same = train(_cfg(tiny_data, tmp_path / "b", steps=0, init=str(first)), log=lines.append)
    assert any("starting from the weights of" in line for line in lines)
    a, b = load_starter(first).unet.state_dict(), load_starter(same / "model").unet.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # nothing trained: the EMA is the init
    moved = train(_cfg(tiny_data, tmp_path / "c", steps=2, init=str(first)), log=lambda _: None)
    c = load_starter(moved / "model").unet.state_dict()
    assert not all(torch.equal(a[k], c[k]) for k in a)
    small = tiny_config()
    wider = dataclasses.replace(small, unet={**small.unet, "layers_per_block": 3})
    with pytest.raises(TrainingError, match="different architecture"):
        train(_cfg(tiny_data, tmp_path / "d", init=str(first), model=wider), log=lambda _: None)


def test_cli_init_reads_the_architecture_from_the_folder(tiny_data, tmp_path, capsys):
    first = train(_cfg(tiny_data, tmp_path / "a", steps=2), log=lambda _: None) / "model"
    out = tmp_path / "tuned"
    args = ["train", "diffusion", "--data", str(tiny_data), "--out", str(out), "--init", str(first)]
    assert main(args + ["--steps", "1", "--batch", "2", "--holdout", "2"]) == 0
    assert load_starter(out / "model").cfg == tiny_config()
    assert main(args[:-1] + [str(tmp_path / "nothing"), "--steps", "1"]) == 2
    assert "not a starter diffusion folder" in capsys.readouterr().err
