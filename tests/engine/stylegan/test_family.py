"""The StyleGAN family end to end: its files are recognised, `studio generate` samples a
seed as NVIDIA's gen_images.py does, the engine streams one preview and honours cancel, and
style mixing / classes / truncation reach the picture."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from PIL import Image

from studio.app.cli import main as studio_main
from studio.engine.families import family_for_request, family_of_model
from studio.engine.inputs import GenerateParams, Inputs
from studio.engine.models.registry import scan
from studio.engine.router import EngineRouter
from studio.engine.stylegan.config import StyleGANConfig
from studio.engine.stylegan.engine import StyleGANEngine, to_uint8
from studio.engine.stylegan.load import convert
from studio.engine.stylegan.requests import StyleGANRequest
from studio.errors import InvalidRequestError, StudioError
from studio.io.png import read_recipe
from tests.engine.stylegan.fixtures import (
    SG3_KWARGS,
    TINY,
    TINY_KWARGS,
    random_generator,
    write_nvlabs_pickle,
)

CONDITIONAL = StyleGANConfig(z_dim=8, w_dim=8, img_resolution=8, c_dim=3, mapping_layers=2,
                             channels={4: 8, 8: 4})  # fmt: skip


@pytest.fixture
def models(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    net = random_generator()
    pkl = write_nvlabs_pickle(folder / "faces.pkl", net, TINY_KWARGS, tmp_path / "sentinel")
    cond = random_generator(CONDITIONAL, seed=2)
    torch.save(cond.state_dict(), folder / "cond.pth")
    return folder, pkl, net, cond


def _reference(net, seed, psi=1.0, c=None, noise="const"):
    """What NVIDIA's gen_images.py computes: z = RandomState(seed).randn(1, z_dim)."""
    z = torch.from_numpy(np.random.RandomState(seed).randn(1, net.cfg.z_dim))
    with torch.no_grad():
        return to_uint8(net(z, c, psi, noise))


def test_the_registry_recognises_its_files(models):
    folder, pkl, _net, _cond = models
    convert(pkl, folder / "faces.safetensors")
    found = {m.name: m for m in scan([folder], kinds=None)}
    for name in ("faces.pkl", "faces.safetensors", "cond.pth"):
        assert found[name].owner == "stylegan" and found[name].usable, found[name]
    assert "non-commercial" in " ".join(found["faces.pkl"].notes)
    assert family_of_model(pkl).modes == ("sample",)


def test_studio_generate_samples_a_seed_as_nvidia_does(models, tmp_path, capsys):
    _folder, pkl, net, _cond = models
    out = tmp_path / "seed7.png"
    argv = ["generate", "--model", str(pkl), "--seed", "7", "--truncation", "0.7"]
    assert studio_main([*argv, "--out", str(out)]) == 0, capsys.readouterr().err
    pixels = np.asarray(Image.open(out).convert("RGB"))
    assert np.array_equal(pixels, _reference(net, 7, 0.7))
    recipe = read_recipe(out)
    assert (recipe["mode"], recipe["seed"], recipe["truncation"]) == ("sample", 7, 0.7)
    assert recipe["noise_mode"] == "const" and recipe["resolution"] == 16


def test_classes_are_asked_for_and_checked(models, tmp_path, capsys):
    _folder, _pkl, _net, cond = models
    path = str(_folder / "cond.pth")
    out = tmp_path / "c.png"
    assert studio_main(["generate", "--model", path, "--seed", "1", "--out", str(out)]) == 2
    assert "class-conditional" in capsys.readouterr().err
    argv = ["generate", "--model", path, "--seed", "1", "--class", "2", "--noise-mode", "none"]
    assert studio_main([*argv, "--out", str(out)]) == 0
    c = torch.zeros(1, 3)
    c[0, 2] = 1
    expected = _reference(cond, 1, c=c, noise="none")
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), expected)


def test_style_mixing_takes_the_chosen_layers_from_the_second_seed(models):
    _folder, pkl, net, _cond = models
    engine = StyleGANEngine()

    def run(**kw):
        return engine.run(StyleGANRequest(str(pkl), **kw), lambda p: None, threading.Event()).image

    plain, other = run(seed=1), run(seed=2)
    mixed = run(seed=1, mix_seed=2, mix_layers="0-5")  # every W: the second seed's picture
    assert np.array_equal(mixed, other)
    fine = run(seed=1, mix_seed=2, mix_layers="fine")  # 16x16 model: 6 Ws, none fine -> seed 1
    assert np.array_equal(fine, plain)
    middle = run(seed=1, mix_seed=2, mix_layers="middle")
    assert not np.array_equal(middle, plain) and not np.array_equal(middle, other)
    with pytest.raises(InvalidRequestError, match="outside"):
        run(seed=1, mix_seed=2, mix_layers="3-30")


def test_the_engine_streams_one_preview_and_honours_cancel(models):
    _folder, pkl, _net, _cond = models
    request = StyleGANRequest(str(pkl), seed=4, noise_mode="random")
    assert isinstance(family_for_request(request).make_engine(), StyleGANEngine)
    previews = []
    result = EngineRouter().run(request, previews.append, threading.Event())
    assert [p.phase for p in previews] == ["loading", "denoising"]
    assert np.array_equal(previews[-1].image, result.image) and result.image.shape == (16, 16, 3)
    again = EngineRouter().run(request, lambda p: None, threading.Event())
    assert np.array_equal(again.image, result.image)  # "random" noise is seeded: re-runs exactly
    cancel = threading.Event()
    cancel.set()
    assert StyleGANEngine().run(request, previews.append, cancel) is None
    engine, stop = StyleGANEngine(), threading.Event()
    engine.run(request, lambda p: p.phase == "loading" or None, stop)  # loaded and cached
    calls = []

    def cancel_while_loading(preview):
        calls.append(preview.phase)
        stop.set()  # pressed during the load: nothing is drawn after it

    assert engine.run(request, cancel_while_loading, stop) is None and calls == ["loading"]


def test_build_request_and_recipes(models):
    _folder, pkl, _net, _cond = models
    family = family_of_model(pkl)
    params = GenerateParams(seed=5, truncation=0.5, noise_mode="none", mix_seed=9,
                            mix_layers="coarse")  # fmt: skip
    built = family.build_request("sample", str(pkl), params, Inputs((64, 64)))
    request = built.request
    assert (request.seed, request.truncation, request.mix_seed) == (5, 0.5, 9)
    assert family.request_from_recipe(request.describe(), {}) == request
    with pytest.raises(StudioError, match="cannot make"):
        family.build_request("prompt", str(pkl), params, Inputs((64, 64)))
    with pytest.raises(InvalidRequestError, match="noise mode"):
        StyleGANRequest(str(pkl), noise_mode="loud")
    assert TINY.num_ws == 6  # 2 per resolution, as NVIDIA counts them


def test_models_convert_writes_safetensors_and_the_sidecar(models, tmp_path, capsys):
    folder, pkl, net, _cond = models
    assert studio_main(["models", "convert", str(pkl)]) == 0, capsys.readouterr().err
    out = pkl.with_suffix(".safetensors")
    assert out.is_file() and out.with_suffix(".json").is_file()
    picture = tmp_path / "from-safetensors.png"
    argv = ["generate", "--model", str(out), "--seed", "7", "--truncation", "0.7"]
    assert studio_main([*argv, "--out", str(picture)]) == 0
    assert np.array_equal(np.asarray(Image.open(picture).convert("RGB")), _reference(net, 7, 0.7))


def test_stylegan3_pans_and_rotates_from_the_command_line(tmp_path, capsys):
    from studio.engine.stylegan.sg3 import StyleGAN3Config

    net = random_generator(StyleGAN3Config.from_init_kwargs(SG3_KWARGS), seed=6)
    pkl = write_nvlabs_pickle(tmp_path / "sg3.pkl", net, SG3_KWARGS, tmp_path / "sentinel")
    net.synthesis.input.transform.copy_(torch.eye(3) * 2)  # stored transforms are replaced
    out = tmp_path / "moved.png"
    argv = ["generate", "--model", str(pkl), "--seed", "3", "--translate", "0.25,-0.5"]
    assert studio_main([*argv, "--rotate", "20", "--out", str(out)]) == 0, capsys.readouterr().err
    net.set_transform((0.25, -0.5), 20.0)
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), _reference(net, 3))
    recipe = read_recipe(out)
    assert recipe["generation"] == "stylegan3" and recipe["rotate"] == 20.0
    still = tmp_path / "still.png"
    assert studio_main(["generate", "--model", str(pkl), "--seed", "3", "--out", str(still)]) == 0
    assert not np.array_equal(np.asarray(Image.open(still)), np.asarray(Image.open(out)))


def test_stylegan2_refuses_to_pan(models, tmp_path, capsys):
    _folder, pkl, _net, _cond = models
    argv = ["generate", "--model", str(pkl), "--seed", "3", "--rotate", "10"]
    assert studio_main([*argv, "--out", str(tmp_path / "x.png")]) == 2
    assert "Only StyleGAN3" in capsys.readouterr().err


def test_the_explore_walk_and_variations_move_in_w(models):
    from studio.session.explore import compare_requests, variation_requests, walk_requests

    _folder, pkl, net, _cond = models
    base = StyleGANRequest(str(pkl), seed=1, truncation=0.8)
    frames = walk_requests(base, 2, "", 3)
    engine = StyleGANEngine()
    pictures = [engine.run(r, lambda p: None, threading.Event()).image for r in frames]
    assert np.array_equal(pictures[0], _reference(net, 1, 0.8))
    assert np.array_equal(pictures[2], _reference(net, 2, 0.8))
    z1, z2 = (torch.from_numpy(np.random.RandomState(s).randn(1, 8)) for s in (1, 2))
    with torch.no_grad():  # the middle frame: halfway between the two Ws, not between the zs
        w = net.mapping(z1, None, 0.8).lerp(net.mapping(z2, None, 0.8), 0.5)
        assert np.array_equal(pictures[1], to_uint8(net.synthesize(w)))
    near = variation_requests(base, 2, 0.1, 5)
    assert [r.variation_seed for r in near] == [5, 6] and frames[1].describe()["variation_seed"]
    with pytest.raises(StudioError, match="no prompt"):
        walk_requests(base, None, "a cat", 3)
    with pytest.raises(StudioError, match="no sampler"):
        compare_requests(base, ["Euler"], [10])


def test_the_model_manager_files_them_under_stylegan(models):
    from studio.engine.models.catalog import describe

    _folder, pkl, _net, _cond = models
    entry = describe(family_of_model(pkl).inspect(pkl), {})
    assert entry.kind_label == "StyleGAN2 generator" and "stylegan" in entry.groups


def test_rerun_exactly_refuses_a_changed_model_file(models, tmp_path):
    _folder, pkl, _net, _cond = models
    family = family_of_model(pkl)
    result = StyleGANEngine().run(StyleGANRequest(str(pkl), seed=2), lambda p: None,
                                  threading.Event())  # fmt: skip
    assert family.request_from_recipe(result.recipe, {}) == result.request
    write_nvlabs_pickle(pkl, random_generator(seed=9), TINY_KWARGS, tmp_path / "sentinel")
    with pytest.raises(InvalidRequestError, match="has changed"):
        family.request_from_recipe(result.recipe, {})
