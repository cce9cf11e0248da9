"""Safe loading: weights-only pickles, refused payloads never run, malformed files, conversion."""

from __future__ import annotations

import os
import pickle
from collections import OrderedDict

import pytest
import torch

from studio.engine.gan.spade_model import load_spade
from studio.engine.gan.weights import UnsafeCheckpointError, read_state_dict
from studio.engine.models.checkpoints import convert_to_safetensors
from studio.errors import ModelLoadError
from tests.engine.gan.reference_spade import RefGenerator, random_onehot, trained_looking


class _Payload:
    """Pickles as a call that creates a file: the classic malicious checkpoint."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


@pytest.fixture()
def tiny_ref():
    return trained_looking(RefGenerator(151, ngf=2, hidden=8, crop=32), 151, 32, 32)


def test_official_style_pth_with_metadata_loads(tmp_path, tiny_ref):
    path = tmp_path / "latest_net_G.pth"
    torch.save(tiny_ref.state_dict(), path)  # OrderedDict with _metadata, like the release
    sd = read_state_dict(path)
    assert set(sd) == set(tiny_ref.state_dict())
    loaded = load_spade(str(path))
    seg = random_onehot(151, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded.net(seg), tiny_ref(seg), atol=1e-6)


def test_legacy_non_zip_pickle_format_loads(tmp_path, tiny_ref):
    path = tmp_path / "old.pth"
    torch.save(tiny_ref.state_dict(), path, _use_new_zipfile_serialization=False)
    assert set(read_state_dict(path)) == set(tiny_ref.state_dict())


@pytest.mark.parametrize("zip_format", [True, False])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, zip_format):
    marker = tmp_path / "pwned"
    path = tmp_path / "latest_net_G.pth"
    bad = OrderedDict(fc=torch.zeros(2), evil=_Payload(marker))
    torch.save(bad, path, _use_new_zipfile_serialization=zip_format)
    with pytest.raises(UnsafeCheckpointError) as info:
        read_state_dict(path)
    assert not marker.exists()
    assert "system" in info.value.message  # the offending global is named, in both formats
    with pytest.raises(UnsafeCheckpointError):
        load_spade(str(path))
    assert not marker.exists()
    # Sanity: the payload is real — unpickling it without protection would create the file.
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.exists()


def test_malformed_files_are_refused_with_a_message(tmp_path, tiny_ref):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(os.urandom(300))
    truncated = tmp_path / "truncated.pth"
    torch.save(tiny_ref.state_dict(), truncated)
    truncated.write_bytes(truncated.read_bytes()[:500])
    bad_header = tmp_path / "bad.safetensors"
    bad_header.write_bytes((10**12).to_bytes(8, "little") + b"{}")
    not_weights = tmp_path / "list.pth"
    torch.save([1, 2, 3], not_weights)
    for path in (garbage, truncated, bad_header, not_weights):
        with pytest.raises(ModelLoadError) as info:
            read_state_dict(path)
        assert path.name in info.value.message
    with pytest.raises(ModelLoadError, match="unknown weight file type"):
        (tmp_path / "x.onnx").write_bytes(b"0")
        read_state_dict(tmp_path / "x.onnx")
    with pytest.raises(ModelLoadError, match="no model file"):
        read_state_dict(tmp_path / "missing.pth")


def test_wrapped_state_dicts_unwrap(tmp_path, tiny_ref):
    path = tmp_path / "wrapped.pth"
    torch.save({"state_dict": tiny_ref.state_dict(), "epoch": 3}, path)
    assert set(read_state_dict(path)) == set(tiny_ref.state_dict())


def test_conversion_to_safetensors_gives_the_same_picture(tmp_path, tiny_ref):
    src = tmp_path / "latest_net_G.pth"
    torch.save(tiny_ref.state_dict(), src)
    dst = convert_to_safetensors(src, tmp_path / "spade_ade.safetensors")
    original, converted = read_state_dict(src), read_state_dict(dst)
    assert original.keys() == converted.keys()
    assert all(torch.equal(original[k], converted[k]) for k in original)  # bit-exact tensors
    seg = random_onehot(151, 32, 32, seed=5)
    with torch.no_grad():
        a = load_spade(str(src)).net(seg)
        b = load_spade(str(dst)).net(seg)
    assert torch.allclose(a, b, atol=1e-6, rtol=0)  # conv kernels may pick another order


def test_wrong_shapes_in_a_file_name_the_first_key(tmp_path, tiny_ref):
    sd = dict(tiny_ref.state_dict())
    sd["up_2.norm_s.mlp_gamma.weight"] = torch.zeros(3, 8, 3, 3)
    path = tmp_path / "bad.pth"
    torch.save(sd, path)
    with pytest.raises(ModelLoadError, match=r"up_2\.norm_s\.mlp_gamma\.weight has shape"):
        load_spade(str(path))
