"""Reading StyleGAN2 files safely: NVlabs-style pickles without running their embedded code,
anything else in a pickle refused by name, rosinality .pt files, plain state dicts, and the
conversion to .safetensors + a JSON architecture sidecar."""

from __future__ import annotations

import json
import os
import pickle
import sys

import pytest
import torch

from studio.engine.stylegan.load import build, convert, load_generator_weights
from studio.engine.stylegan.seeds import z_for_seed
from studio.engine.stylegan.unpickle import UnsafePickleError, read_network_pickle
from studio.errors import ModelLoadError
from tests.engine.stylegan.fixtures import (
    SG3_KWARGS,
    TINY,
    TINY_KWARGS,
    random_generator,
    to_rosinality,
    write_nvlabs_pickle,
)


def _picture(net, seed=3, psi=0.8):
    with torch.no_grad():
        return net(z_for_seed(seed, net.cfg.z_dim), None, psi, "const")


@pytest.fixture
def nvlabs_pkl(tmp_path):
    sentinel = tmp_path / "sentinel"
    net = random_generator()
    path = write_nvlabs_pickle(tmp_path / "network-snapshot.pkl", net, TINY_KWARGS, sentinel)
    return path, net, sentinel


def test_an_nvlabs_pickle_loads_without_running_its_code(nvlabs_pkl):
    path, net, sentinel = nvlabs_pkl
    assert b"torch_utils.persistence" in path.read_bytes()  # the fixture has their structure
    found = read_network_pickle(path)
    assert set(found.networks) == {"G", "G_ema"} and found.networks["G_ema"].source_bytes > 0
    config, sd = load_generator_weights(path)
    assert config == TINY and set(sd) == set(net.state_dict())
    assert torch.equal(_picture(build(config, sd)), _picture(net))
    assert not sentinel.exists()
    assert "torch_utils" not in sys.modules and "dnnlib" not in sys.modules


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo ran > /dev/null",))


def test_any_other_global_is_refused_by_name(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _Payload()}, protocol=4))
    with pytest.raises(UnsafePickleError) as caught:
        load_generator_weights(path)
    assert "system" in caught.value.args[0] and "Nothing in it was run" in caught.value.args[0]
    assert isinstance(caught.value, ModelLoadError)


def test_a_damaged_pickle_is_a_plain_error(nvlabs_pkl, tmp_path):
    path, _net, _sentinel = nvlabs_pkl
    broken = tmp_path / "broken.pkl"
    broken.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(ModelLoadError, match="damaged or not a network pickle"):
        load_generator_weights(broken)


def test_a_rosinality_checkpoint_gives_the_same_picture(tmp_path):
    net = random_generator(seed=5)
    sd = net.state_dict()
    path = tmp_path / "550000.pt"
    torch.save({"g_ema": to_rosinality(sd, TINY), "latent_avg": sd["mapping.w_avg"]}, path)
    config, loaded = load_generator_weights(path)
    assert config.channels == TINY.channels and config.num_ws == TINY.num_ws
    assert torch.allclose(_picture(build(config, loaded)), _picture(net), atol=1e-6)


def test_a_plain_state_dict_loads(tmp_path):
    net = random_generator(seed=7)
    path = tmp_path / "G_ema.pth"
    torch.save(net.state_dict(), path)
    config, sd = load_generator_weights(path)
    assert torch.equal(_picture(build(config, sd)), _picture(net))


def test_conversion_writes_safetensors_and_an_architecture_sidecar(nvlabs_pkl, tmp_path):
    path, net, sentinel = nvlabs_pkl
    out = convert(path, tmp_path / "converted.safetensors")
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["format"] == "studio-stylegan" and side["img_resolution"] == 16
    config, sd = load_generator_weights(out)
    assert config == TINY
    assert torch.equal(_picture(build(config, sd)), _picture(net))
    with pytest.raises(ModelLoadError, match="already exists"):
        convert(path, out)
    assert not sentinel.exists()


def test_weights_of_another_shape_are_refused(tmp_path):
    net = random_generator()
    sd = {k: v for k, v in net.state_dict().items() if "b16" not in k}
    with pytest.raises(ModelLoadError, match="do not fit"):
        build(TINY, sd)


def test_a_stylegan3_pickle_loads_and_converts(tmp_path):
    from studio.engine.stylegan.sg3 import StyleGAN3Config

    cfg = StyleGAN3Config.from_init_kwargs(SG3_KWARGS)
    net = random_generator(cfg, seed=4)
    sentinel = tmp_path / "sentinel"
    path = write_nvlabs_pickle(tmp_path / "stylegan3-t.pkl", net, SG3_KWARGS, sentinel)
    config, sd = load_generator_weights(path)
    assert config == cfg and config.generation == "stylegan3"
    assert torch.equal(_picture(build(config, sd)), _picture(net))
    out = convert(path, tmp_path / "sg3.safetensors")
    assert json.loads(out.with_suffix(".json").read_text())["generation"] == "stylegan3"
    again, sd2 = load_generator_weights(out)
    assert again == cfg and torch.equal(_picture(build(again, sd2)), _picture(net))
    out.with_suffix(".json").unlink()  # without the sidecar the layer plan is unknown
    with pytest.raises(ModelLoadError, match="without its architecture"):
        load_generator_weights(out)
    assert not sentinel.exists()
