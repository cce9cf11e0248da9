"""Starter diffusion: save/load through safetensors, the denoising loop, CFG batching, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from studio.engine.starter import vocab
from studio.engine.starter.model import (
    WEIGHTS_NAME,
    build_unet,
    labels_to_onehot,
    load_starter,
    save_starter,
    tiny_config,
)
from studio.engine.starter.sampling import sample
from studio.errors import InvalidRequestError, ModelLoadError


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    torch.manual_seed(0)
    cfg = tiny_config()
    unet = build_unet(cfg)
    folder = tmp_path_factory.mktemp("starter") / "tiny-starter"
    save_starter(folder, unet, cfg, "# Tiny starter\n", fp16=False)
    return folder, unet


def _labels(size=32):
    labels = np.zeros((size, size), np.uint16)
    labels[: size // 2] = vocab.material_value("sky")
    labels[size // 2 :] = vocab.material_value("grass")
    return labels


def test_round_trip_keeps_config_weights_and_card(tiny_folder):
    folder, unet = tiny_folder
    meta = json.loads((folder / "starter.json").read_text())
    assert meta["format"] == "studio-starter-diffusion" and meta["version"] == 1
    assert (folder / "unet" / WEIGHTS_NAME).is_file()
    loaded = load_starter(folder)
    assert loaded.cfg == tiny_config()
    assert loaded.card.startswith("# Tiny starter")
    assert loaded.unet.config.in_channels == 12 + vocab.LABEL_CHANNELS
    assert loaded.unet.config.out_channels == 12
    for key, value in unet.state_dict().items():
        assert torch.equal(loaded.unet.state_dict()[key], value), key


def test_fp16_save_halves_the_file_and_loads_as_float32(tiny_folder, tmp_path):
    folder, unet = tiny_folder
    half = save_starter(tmp_path / "half", unet, tiny_config(), fp16=True)
    size32 = (folder / "unet" / WEIGHTS_NAME).stat().st_size
    size16 = (half / "unet" / WEIGHTS_NAME).stat().st_size
    assert size16 < 0.6 * size32
    loaded = load_starter(half)
    assert loaded.dtype == torch.float32
    weight = next(iter(loaded.unet.parameters()))
    assert weight.dtype == torch.float32


def test_onehot_is_area_fractions():
    onehot = labels_to_onehot(_labels(32), 16)
    assert onehot.shape == (vocab.LABEL_CHANNELS, 16, 16)
    assert torch.allclose(onehot.sum(0), torch.ones(16, 16))
    assert onehot[vocab.material_value("sky"), 0, 0] == 1.0
    with pytest.raises(InvalidRequestError, match="value 30"):
        labels_to_onehot(np.full((4, 4), 30, np.uint16), 4)


def test_same_seed_same_picture_and_one_preview_per_step(tiny_folder):
    loaded = load_starter(tiny_folder[0])
    onehot = labels_to_onehot(_labels(), 32)[None]
    steps = []

    def run(seed, record=None):
        gen = torch.Generator().manual_seed(seed)
        return sample(loaded, onehot, [5], 4, 3.0, gen, on_step=record)

    first = run(1, lambda i, n, x0: steps.append((i, n, x0.shape, x0.dtype)))
    assert first.shape == (1, 32, 32, 3) and first.dtype == np.uint8
    assert steps == [(i, 4, (32, 32, 3), np.uint8) for i in range(4)]
    assert np.array_equal(first, run(1))
    assert not np.array_equal(first, run(2))


def test_guidance_one_skips_the_unconditional_pass(tiny_folder):
    loaded = load_starter(tiny_folder[0])
    batches = []
    hook = loaded.unet.register_forward_pre_hook(lambda m, args: batches.append(args[0].shape[0]))
    try:
        onehot = labels_to_onehot(_labels(), 32)[None].repeat(2, 1, 1, 1)
        sample(loaded, onehot, [3, 7], 2, 1.0, torch.Generator().manual_seed(0))
        assert batches == [2, 2]
        batches.clear()
        sample(loaded, onehot, [3, 7], 2, 4.0, torch.Generator().manual_seed(0))
        assert batches == [4, 4]
    finally:
        hook.remove()


def test_no_label_map_and_style_zero_still_samples(tiny_folder):
    loaded = load_starter(tiny_folder[0])
    out = sample(loaded, None, [0, vocab.style_id("sunset")], 2, 2.0, torch.Generator())
    assert out.shape == (2, 32, 32, 3)


def test_broken_folders_raise_clear_errors(tiny_folder, tmp_path):
    with pytest.raises(ModelLoadError, match="no starter.json"):
        load_starter(tmp_path)
    folder = save_starter(tmp_path / "s", build_unet(tiny_config()), tiny_config())
    (folder / "unet" / WEIGHTS_NAME).write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match="damaged"):
        load_starter(folder)
    (folder / "unet" / WEIGHTS_NAME).unlink()
    with pytest.raises(ModelLoadError, match="missing"):
        load_starter(folder)
    other = save_starter(tmp_path / "o", build_unet(tiny_config()), tiny_config())
    meta = json.loads((other / "starter.json").read_text())
    meta["unet"]["block_out_channels"] = [16, 16]
    (other / "starter.json").write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="do not fit"):
        load_starter(other)
    (other / "starter.json").write_text("{broken")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_starter(other)


def test_bad_inputs_to_sample(tiny_folder):
    loaded = load_starter(tiny_folder[0])
    with pytest.raises(InvalidRequestError, match="Style ids"):
        sample(loaded, None, [80], 2)
    with pytest.raises(InvalidRequestError, match="label input"):
        sample(loaded, torch.zeros(1, 3, 32, 32), [1], 2)
