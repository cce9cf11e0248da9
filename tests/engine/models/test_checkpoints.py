"""Pickled checkpoints load weights-only with a narrow allowlist; anything more is refused."""

from __future__ import annotations

import os
import sys
import types

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from studio.engine.models.checkpoints import (
    UnsafeCheckpointError,
    convert_to_safetensors,
    file_sha256,
    load_pickle,
    read_safetensors_header,
)
from studio.engine.models.registry import scan
from studio.errors import ModelLoadError


class Payload:
    """Unpickling this would run a shell command that creates a file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def malicious_checkpoint(path, marker, zip_format=True):
    data = {"state_dict": {"w": torch.ones(3)}, "extra": Payload(marker)}
    torch.save(data, str(path), _use_new_zipfile_serialization=zip_format)
    return path


@pytest.mark.parametrize("zip_format", [True, False])
def test_malicious_pickle_is_refused_without_running_it(tmp_path, zip_format):
    marker = tmp_path / "PWNED"
    ckpt = malicious_checkpoint(tmp_path / "model.ckpt", marker, zip_format)
    with pytest.raises(UnsafeCheckpointError, match=r"refused.*posix\.system") as info:
        load_pickle(ckpt)
    assert "weights only" in info.value.details.lower().replace("_", " ")
    assert not marker.exists()
    with pytest.raises(UnsafeCheckpointError):
        convert_to_safetensors(ckpt)
    assert not marker.exists() and not (tmp_path / "model.safetensors").exists()


def test_scan_reports_the_malicious_file_and_runs_nothing(tmp_path):
    marker = tmp_path / "PWNED"
    malicious_checkpoint(tmp_path / "evil.pth", marker)
    (found,) = scan([tmp_path], kinds=None)
    assert not found.usable and "posix.system" in found.problem
    assert not marker.exists()


@pytest.fixture
def lightning_stub():
    """Old SD .ckpt files pickle a Lightning ModelCheckpoint; fake the module to write one."""
    names = ["pytorch_lightning", "pytorch_lightning.callbacks"]
    names.append("pytorch_lightning.callbacks.model_checkpoint")
    modules = {n: types.ModuleType(n) for n in names}
    cls = type("ModelCheckpoint", (), {"__module__": names[2]})
    modules[names[2]].ModelCheckpoint = cls
    modules[names[1]].model_checkpoint = modules[names[2]]
    modules[names[0]].callbacks = modules[names[1]]
    sys.modules.update(modules)
    yield cls
    for n in names:
        sys.modules.pop(n, None)


def test_classic_sd_ckpt_extras_are_allowed(tmp_path, lightning_stub):
    data = {
        "state_dict": {"model.w": torch.arange(4.0)},
        "global_step": np.int64(470000),
        "epoch": np.float64(3.0),
        "callbacks": {lightning_stub: {"best_model_score": torch.tensor(0.5)}},
    }
    torch.save(data, str(tmp_path / "old.ckpt"))
    sys.modules.pop("pytorch_lightning.callbacks.model_checkpoint")  # loading must not need it
    state = load_pickle(tmp_path / "old.ckpt")
    assert list(state) == ["model.w"] and torch.equal(state["model.w"], torch.arange(4.0))


@pytest.mark.parametrize("zip_format", [True, False])
def test_numpy_arrays_are_not_on_the_allowlist(tmp_path, zip_format):
    data = {"w": torch.ones(2), "arr": np.ones(3)}
    torch.save(data, str(tmp_path / "arr.pt"), _use_new_zipfile_serialization=zip_format)
    with pytest.raises(UnsafeCheckpointError, match="numpy") as info:
        load_pickle(tmp_path / "arr.pt")
    assert "torch._utils" not in info.value.message  # only what is not allowed is named


def test_sd_and_gan_loaders_are_one_loader(tmp_path, lightning_stub):
    """The GAN reader uses the same allowlist and refusal as SD checkpoints."""
    from studio.engine.gan import weights
    from studio.engine.models import checkpoints

    assert weights.UnsafeCheckpointError is checkpoints.UnsafeCheckpointError
    data = {"state_dict": {"w": torch.arange(3.0)}, "epoch": np.float64(2.0)}
    data["callbacks"] = {lightning_stub: {}}
    torch.save(data, str(tmp_path / "gan.pth"))
    assert list(weights.read_state_dict(tmp_path / "gan.pth")) == ["w"]


def test_conversion_to_safetensors_keeps_every_tensor(tmp_path):
    shared = torch.randn(4, 4)
    torch.save(
        {"state_dict": {"a": shared, "b": shared[:2], "c": torch.ones(1)}}, str(tmp_path / "m.pt")
    )
    out = convert_to_safetensors(tmp_path / "m.pt")
    assert out == tmp_path / "m.safetensors"
    back = load_file(str(out))
    assert torch.equal(back["a"], shared) and torch.equal(back["b"], shared[:2])
    shapes, metadata = read_safetensors_header(out)
    assert shapes["a"] == (4, 4) and metadata["converted_from"] == "m.pt"
    with pytest.raises(ModelLoadError, match="already exists"):
        convert_to_safetensors(tmp_path / "m.pt")


@pytest.mark.parametrize(
    "wrapped",
    [
        {"netG": {"module.w": torch.ones(2)}, "epoch": 3},  # a GAN trainer's file
        {"state_dict": {"model": {"w": torch.ones(2)}}, "global_step": 7},
        {"w": torch.ones(2)},
    ],
)
def test_every_family_s_wrapped_pickle_converts_to_its_tensors(tmp_path, wrapped):
    torch.save(wrapped, str(tmp_path / "g.pth"))
    out = convert_to_safetensors(tmp_path / "g.pth")
    assert list(load_file(str(out))) == ["w"]  # no wrapper, no DataParallel prefix


def _wrapped_in_itself() -> dict:
    data: dict = {"epoch": 3}
    data["state_dict"] = data
    return data


@pytest.mark.parametrize("data", [{"epoch": 3, "notes": "none"}, _wrapped_in_itself()])
def test_a_pickle_without_tensors_is_not_converted_to_an_empty_file(tmp_path, data):
    torch.save(data, str(tmp_path / "empty.pt"))
    with pytest.raises(ModelLoadError, match="holds no weights"):
        convert_to_safetensors(tmp_path / "empty.pt")
    assert not (tmp_path / "empty.safetensors").exists()


def test_implausible_safetensors_header_is_refused(tmp_path):
    bad = tmp_path / "huge.safetensors"
    bad.write_bytes((2**40).to_bytes(8, "little") + b"{}")
    with pytest.raises(ModelLoadError, match="not a readable"):
        read_safetensors_header(bad)


def test_file_hash_is_remembered_on_disk_until_the_file_changes(tmp_path, monkeypatch):
    import hashlib

    from studio.engine.models import checkpoints

    f = tmp_path / "w.safetensors"
    f.write_bytes(b"abc")
    first = file_sha256(f)
    assert first == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    checkpoints._HASHES.clear()  # a new process: only the file on disk remembers
    calls = []
    real = hashlib.sha256
    monkeypatch.setattr(hashlib, "sha256", lambda *a: calls.append(1) or real(*a))
    assert file_sha256(f) == first
    assert len(calls) == 1  # only the (path, size, mtime) key was hashed, not the file
    f.write_bytes(b"abcd")
    assert file_sha256(f) != first


def test_random_bytes_never_crash_the_pickle_loaders(tmp_path):
    """Damaged files must give a ModelLoadError, never an IndexError from deep in torch."""
    import numpy as np

    from studio.engine.gan.weights import read_state_dict
    from studio.engine.models.checkpoints import load_pickle
    from studio.errors import ModelLoadError

    rng = np.random.default_rng(2026)
    for i in range(150):
        path = tmp_path / f"garbage{i}.pth"
        path.write_bytes(rng.bytes(int(rng.integers(1, 400))))
        for load in (load_pickle, read_state_dict):
            with pytest.raises(ModelLoadError):
                load(path)
