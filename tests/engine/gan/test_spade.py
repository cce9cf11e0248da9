"""SPADE: official key layout loads strictly, outputs equal a reference forward, SN folding."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from studio.engine.gan.spade import (
    fold_spectral_norm,
    infer_arch,
    load_generator,
    official_arch,
)
from studio.engine.gan.weights import check_state_dict
from studio.errors import ModelLoadError
from tests.engine.gan.reference_spade import RefGenerator, random_onehot, trained_looking

# Key names and shapes of NVlabs/SPADE's released COCO-Stuff generator (C = 184 input channels),
# as its SPADEGenerator class emits them with legacy spectral norm (weight_orig/_u/_v).
PUBLISHED = {
    "fc.weight": [1024, 184, 3, 3],
    "fc.bias": [1024],
    "head_0.conv_0.weight_orig": [1024, 1024, 3, 3],
    "head_0.conv_0.weight_u": [1024],
    "head_0.conv_0.weight_v": [1024 * 9],
    "head_0.norm_0.param_free_norm.running_mean": [1024],
    "head_0.norm_0.param_free_norm.num_batches_tracked": [],
    "head_0.norm_0.mlp_shared.0.weight": [128, 184, 3, 3],
    "head_0.norm_0.mlp_gamma.weight": [1024, 128, 3, 3],
    "up_0.conv_0.weight_orig": [512, 1024, 3, 3],
    "up_0.conv_1.weight_v": [512 * 9],
    "up_0.conv_s.weight_orig": [512, 1024, 1, 1],
    "up_0.conv_s.weight_v": [1024],
    "up_0.norm_s.mlp_beta.bias": [1024],
    "up_0.norm_1.mlp_beta.weight": [512, 128, 3, 3],
    "up_3.conv_1.weight_u": [64],
    "conv_img.weight": [3, 64, 3, 3],
    "conv_img.bias": [3],
}


def test_full_official_layout_has_the_published_keys_and_loads_strictly_on_meta():
    with torch.device("meta"):
        ref = RefGenerator(184)
    sd = ref.state_dict()
    assert len(sd) == 234
    assert sum(p.numel() for p in ref.parameters()) == 97_480_899
    for key, shape in PUBLISHED.items():
        assert list(sd[key].shape) == shape, key
    assert not any(k.endswith(".conv_0.weight") for k in sd)
    assert "head_0.conv_s.weight_orig" not in sd and "up_0.conv_s.bias" not in sd
    folded = fold_spectral_norm(sd)
    arch = infer_arch(folded)
    assert arch == official_arch(184)
    with torch.device("meta"):
        from studio.engine.gan.spade import build_generator

        ours = build_generator(arch)
    expected = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    check_state_dict(expected, folded, "SPADE generator")  # raises on any difference
    assert len(expected) == 234 - 2 * 18  # 18 SN convs: weight_orig/u/v -> one weight


@pytest.mark.parametrize(
    "semantic_nc, up, size",
    [(151, "normal", (64, 64)), (36, "more", (64, 128)), (184, "most", (128, 128))],
)
def test_our_generator_equals_the_reference_forward(semantic_nc, up, size):
    h, w = size
    net = RefGenerator(semantic_nc, ngf=4, up=up, hidden=16, crop=w, aspect=w / h)
    ref = trained_looking(net, semantic_nc, h, w)
    sd = ref.state_dict()
    ours = load_generator(sd, up if up == "more" else None)
    assert ours.arch.num_upsampling_layers == up
    seg = random_onehot(semantic_nc, h, w, seed=3)
    with torch.no_grad():
        expected = ref(seg)
        got = ours(seg)
    assert got.shape == (1, 3, h, w)
    assert torch.allclose(got, expected, atol=1e-6, rtol=0), (got - expected).abs().max()
    # The SN buffers and BN stats matter: an untouched generator gives a different picture.
    fresh = RefGenerator(semantic_nc, ngf=4, up=up, hidden=16, crop=w, aspect=w / h).eval()
    with torch.no_grad():
        assert (fresh(seg) - expected).abs().max() > 1e-3


def test_spectral_norm_folding_equals_the_legacy_module_in_eval():
    torch.manual_seed(0)
    conv = nn.utils.spectral_norm(nn.Conv2d(5, 7, 3, padding=1))
    conv.train()
    for _ in range(4):  # power iterations move u and v away from their initial values
        conv(torch.randn(2, 5, 9, 9))
    conv.eval()
    x = torch.randn(1, 5, 9, 9)
    with torch.no_grad():
        expected = conv(x)
        folded = fold_spectral_norm(dict(conv.state_dict()))
        got = F.conv2d(x, folded["weight"], folded["bias"], padding=1)
    assert set(folded) == {"weight", "bias"}
    assert torch.equal(got, expected)


def test_parametrization_keys_fold_like_the_legacy_ones():
    torch.manual_seed(1)
    new = nn.utils.parametrizations.spectral_norm(nn.Conv2d(3, 4, 3))
    new.train()
    new(torch.randn(1, 3, 8, 8))
    new.eval()
    x = torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        folded = fold_spectral_norm(dict(new.state_dict()))
        assert torch.allclose(F.conv2d(x, folded["weight"], folded["bias"]), new(x), atol=1e-6)


def test_wrong_shape_names_the_first_mismatching_key():
    ref = RefGenerator(151, ngf=4, hidden=16)
    sd = dict(ref.state_dict())
    sd["up_1.norm_0.mlp_gamma.bias"] = torch.zeros(5)
    with pytest.raises(ModelLoadError) as info:
        load_generator(sd)
    assert "up_1.norm_0.mlp_gamma.bias" in info.value.message
    assert "[5]" in info.value.message and "[32]" in info.value.message


def test_missing_and_foreign_layouts_are_refused_with_a_clear_message():
    sd = dict(RefGenerator(151, ngf=4, hidden=16).state_dict())
    del sd["G_middle_1.norm_1.mlp_beta.weight"]
    with pytest.raises(ModelLoadError, match="G_middle_1.norm_1.mlp_beta.weight is missing"):
        load_generator(sd)
    with pytest.raises(ModelLoadError, match="not a SPADE generator"):
        load_generator({"model.1.weight": torch.zeros(64, 3, 7, 7)})


def test_old_files_without_batchnorm_counters_still_load():
    ref = trained_looking(RefGenerator(151, ngf=4, hidden=16, crop=32), 151, 32, 32)
    sd = {k: v for k, v in ref.state_dict().items() if not k.endswith("num_batches_tracked")}
    seg = random_onehot(151, 32, 32)
    with torch.no_grad():
        assert torch.allclose(load_generator(sd)(seg), ref(seg), atol=1e-6)


def test_starter_arch_is_small_and_round_trips_through_the_loader():
    import pytest
    import torch

    from studio.engine.gan.spade import build_generator, custom_arch, load_generator, starter_arch

    arch = starter_arch(25)
    net = build_generator(arch)
    params = sum(p.numel() for p in net.parameters())
    assert 1_000_000 <= params <= 2_000_000
    loaded = load_generator(net.state_dict())
    assert loaded.arch == arch  # widths, hidden and "normal" upsampling read back from the keys
    seg = torch.zeros(1, 25, 64, 64)
    seg[:, 3] = 1
    with torch.inference_mode():
        assert torch.equal(net(seg), loaded(seg))
    with pytest.raises(ValueError, match="8 positive widths"):
        custom_arch(25, (8, 8, 8), 8)
