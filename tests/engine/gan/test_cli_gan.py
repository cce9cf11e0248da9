"""Headless GAN commands through `studio generate` / `studio translate`: SPADE, translate."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from studio.app.cli import main as studio_main
from studio.engine.labels import builtin_label_set
from studio.io.png import read_recipe
from tests.engine.gan.reference_pix2pix import RefResnetGenerator
from tests.engine.gan.reference_spade import RefGenerator, trained_looking


@pytest.fixture()
def ade_checkpoint(tmp_path):
    ref = trained_looking(RefGenerator(151, ngf=2, hidden=8, crop=64), 151, 64, 64)
    path = tmp_path / "latest_net_G.pth"
    torch.save(ref.state_dict(), path)
    return path


def _indexed_png(path, ids, label_set="ade20k"):
    palette = np.zeros((256, 3), np.uint8)
    for c in builtin_label_set(label_set).classes:
        if c.rgb is not None and c.value < 256:
            palette[c.value] = c.rgb
    image = Image.fromarray(ids.astype(np.uint8), "L")
    image.putpalette(palette.reshape(-1).tolist())
    image.save(path)


def test_generate_from_an_indexed_png_guesses_the_label_set(tmp_path, ade_checkpoint, capsys):
    ids = np.full((64, 96), 3, np.uint8)  # sky
    ids[32:] = 10  # grass
    labels = tmp_path / "scene.png"
    _indexed_png(labels, ids)
    out = tmp_path / "out.png"
    code = studio_main(
        [
            "generate",
            "--model",
            str(ade_checkpoint),
            "--labels",
            str(labels),
            "--seed",
            "7",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    with Image.open(out) as image:
        assert image.size == (96, 64)
    recipe = read_recipe(out)
    assert recipe["label_set"] == "ade20k" and recipe["model_family"] == "spade"


def test_generate_warns_about_unknown_classes(tmp_path, ade_checkpoint, capsys):
    coco = builtin_label_set("cocostuff")
    snow = next(c.value for c in coco.classes if c.name == "snow")
    labels = tmp_path / "snow.png"
    Image.fromarray(np.full((64, 64), snow, np.uint8), "L").save(labels)
    out = tmp_path / "out.png"
    argv = ["generate", "--model", str(ade_checkpoint), "--labels", str(labels)]
    argv += ["--label-set", "cocostuff", "--out", str(out), "--quiet"]
    assert studio_main(argv) == 0
    assert "snow (4096 px)" in capsys.readouterr().err


def test_generate_without_a_known_label_set_fails_cleanly(tmp_path, ade_checkpoint, capsys):
    labels = tmp_path / "grey.png"
    Image.fromarray(np.zeros((64, 64), np.uint8), "L").save(labels)
    argv = ["generate", "--model", str(ade_checkpoint), "--labels", str(labels)]
    assert studio_main(argv + ["--out", str(tmp_path / "o.png")]) == 2
    assert "--label-set" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_translate_from_pth_and_converted_safetensors(tmp_path, capsys):
    from studio.engine.models.checkpoints import convert_to_safetensors

    torch.manual_seed(0)
    pth = tmp_path / "horse2zebra.pth"
    torch.save(RefResnetGenerator(ngf=4, n_blocks=2).state_dict(), pth)
    image = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 56, 3), np.uint8)).save(image)
    out_pth, out_st = tmp_path / "a.png", tmp_path / "b.png"
    base = ["translate", "--image", str(image), "--seed", "3", "--quiet"]
    assert studio_main(base + ["--model", str(pth), "--out", str(out_pth)]) == 0
    st = convert_to_safetensors(pth, tmp_path / "horse2zebra.safetensors")
    assert studio_main(base + ["--model", str(st), "--out", str(out_st)]) == 0
    a, b = np.asarray(Image.open(out_pth)), np.asarray(Image.open(out_st))
    assert a.shape == (40, 56, 3) and np.abs(a.astype(int) - b).max() <= 1
    assert read_recipe(out_pth)["model_family"] == "pix2pix-resnet"
    code = studio_main(base + ["--model", str(pth), "--direction", "BtoA", "--out", str(out_pth)])
    assert code == 2 and "one way only" in capsys.readouterr().err


def test_generate_reaches_each_family_through_one_router(tmp_path, ade_checkpoint):
    # `studio generate` asks the model's family: a SPADE file with --labels is the GAN
    # family's "paint" mode; the same flags with an SD folder would be Stable Diffusion's.
    from studio.app.cli import _parser
    from studio.app.cli_generate import mode_of
    from studio.engine.families import family_of_model

    parser = _parser()
    base = ["generate", "--prompt", "", "--out", "o.png", "--labels", "l.png"]
    spade = parser.parse_args(base + ["--model", str(ade_checkpoint), "--label-set", "ade20k"])
    assert mode_of(spade) == "paint" and spade.label_set == "ade20k"
    assert family_of_model(spade.model).name == "gan"
    args = parser.parse_args(["translate", "--model", "m", "--image", "i", "--out", "o"])
    assert mode_of(args) == "translate" and args.direction == "AtoB"
    labels, out = tmp_path / "scene.png", tmp_path / "out.png"
    _indexed_png(labels, np.full((64, 64), 3, np.uint8))
    argv = ["generate", "--model", str(ade_checkpoint), "--prompt", "", "--labels", str(labels)]
    assert studio_main(argv + ["--out", str(out), "--quiet"]) == 0
    assert read_recipe(out)["model_family"] == "spade"
