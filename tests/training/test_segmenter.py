"""The evaluation segmenter: it learns, saves/loads as safetensors, resumes, scores real scenes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.training import segmenter as seg
from studio.training.dataset import DatasetWriter
from studio.training.segmenter_train import TrainSettings, flat_colors, train
from studio.training.synth import render_scene


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _tiny_dataset(root, count=8, size=64):
    writer = DatasetWriter(root)
    for i in range(count):
        image, labels, meta = render_scene(i, size)
        writer.write(f"{i:06d}", image, labels, meta)
    writer.finish()
    return root


def test_a_few_steps_lower_the_loss():
    torch.manual_seed(0)
    net = seg.build((4, 8, 8))
    image, labels, _ = render_scene(3, 64)
    x = seg.to_input([image], 32)
    y = torch.from_numpy(seg.resize_labels(labels, 32).astype(np.int64))[None]
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(25):
        loss = torch.nn.functional.cross_entropy(net(x), y, ignore_index=0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses
    logits, feats = net.run(x)
    assert logits.shape == (1, 25, 32, 32) and feats.shape == (1, 8)


def test_train_writes_a_loadable_file_and_resumes(tmp_path):
    data = _tiny_dataset(tmp_path / "ds")
    out = tmp_path / "seg.safetensors"
    settings = TrainSettings(data, out, steps=6, batch=2, widths=(4, 8, 8), size=32, holdout=2)
    lines = []
    info = train(settings, lines.append)
    assert info["step"] == 6 and 0.0 <= info["held_out"]["pixel_accuracy"] <= 1.0
    assert any("ETA" in line for line in lines)
    loaded = seg.load(out)
    assert loaded.size == 32 and loaded.info["widths"] == [4, 8, 8]
    assert loaded.flat_colors.shape == (25, 3) and loaded.flat_colors.dtype == np.uint8
    pred = loaded.predict([render_scene(0, 64)[0]])
    assert pred.shape == (1, 32, 32) and loaded.features([render_scene(0, 64)[0]]).shape == (1, 8)
    # More steps later: continues from the saved state instead of starting over.
    lines.clear()
    info = train(TrainSettings(data, out, steps=8, batch=2, widths=(4, 8, 8), size=32,
                               holdout=2), lines.append)  # fmt: skip
    assert any("resuming at step 6" in line for line in lines) and info["step"] == 8


def test_flat_colors_are_per_class_means():
    sums = np.zeros((25, 4))
    sums[1] = [10, 20, 30, 2]  # two sky pixels summing to (10, 20, 30)
    colors = flat_colors(sums)
    assert colors[1].tolist() == [5, 10, 15] and colors[2].tolist() == [128, 128, 128]


def test_a_missing_or_foreign_file_is_a_clear_error(tmp_path):
    with pytest.raises(seg.SegmenterError, match="No evaluation segmenter"):
        seg.load(tmp_path / "none.safetensors")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(seg.SegmenterError, match="not a Studio evaluation segmenter"):
        seg.load(tmp_path / "other.safetensors")


def test_the_shipped_segmenter_loads_and_reads_a_real_render():
    loaded = seg.load()  # resources/eval/segmenter.safetensors
    assert loaded.size == seg.SIZE and loaded.flat_colors.shape == (25, 3)
    image, labels, _ = render_scene(123456, 128)  # a scene of no dataset split
    pred = loaded.predict([image])[0]
    assert (pred == labels).mean() > 0.6  # a random or broken net scores about 1/25
