"""pix2pix / CycleGAN: published layouts load strictly, architecture inferred, paper semantics."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from studio.engine.gan.pix2pix import (
    ResnetArch,
    UnetArch,
    build_generator,
    infer_arch,
    load_generator,
    set_noise,
    unet_256,
)
from studio.engine.gan.weights import check_state_dict
from studio.errors import ModelLoadError
from tests.engine.gan.reference_pix2pix import (
    RefResnetGenerator,
    RefUnetGenerator,
    randomize_norms,
)


def _meta_check(ref_cls, n_keys, n_params, **kwargs):
    with torch.device("meta"):
        ref = ref_cls(**kwargs)
        sd = ref.state_dict()
        assert len(sd) == n_keys
        assert sum(p.numel() for p in ref.parameters()) == n_params
        arch = infer_arch(sd)
        ours = build_generator(arch)
    check_state_dict({k: tuple(v.shape) for k, v in ours.state_dict().items()}, sd, "generator")
    assert list(ours.state_dict()) == list(sd)
    return arch, sd


def test_published_resnet_9blocks_layout():
    arch, sd = _meta_check(RefResnetGenerator, 48, 11_378_179)
    assert arch == ResnetArch(ngf=64, norm="instance", n_blocks=9)
    assert tuple(sd["model.19.weight"].shape) == (256, 128, 3, 3)
    assert tuple(sd["model.18.conv_block.5.weight"].shape) == (256, 256, 3, 3)


def test_published_unet_256_layout():
    arch, sd = _meta_check(RefUnetGenerator, 82, 54_413_955)
    assert arch == unet_256()
    inner = "model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model."
    assert tuple(sd[inner + "1.weight"].shape) == (512, 512, 4, 4)
    assert inner + "4.running_mean" in sd


def test_resnet_6blocks_batch_norm_and_dropout_variants_are_recognised():
    with torch.device("meta"):
        a = infer_arch(RefResnetGenerator(ngf=32, n_blocks=6).state_dict())
        b = infer_arch(RefResnetGenerator(ngf=16, norm="batch", use_dropout=True).state_dict())
    assert (a.n_blocks, a.ngf, a.norm, a.use_dropout) == (6, 32, "instance", False)
    assert (b.n_blocks, b.ngf, b.norm, b.use_dropout) == (9, 16, "batch", True)
    with torch.device("meta"):
        sd = RefResnetGenerator(norm="batch").state_dict()
        c = infer_arch(sd)
    assert len(sd) == 140 and (c.norm, c.use_dropout, c.affine) == ("batch", False, True)


def _resnet_pair(seed=0):
    torch.manual_seed(seed)
    ref = RefResnetGenerator(ngf=8, n_blocks=6).eval()
    return ref, dict(ref.state_dict())


def test_resnet_output_equals_the_reference():
    ref, sd = _resnet_pair()
    ours = load_generator(sd)
    x = torch.rand(1, 3, 40, 52) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(ours(x), ref(x), atol=1e-6)


def test_old_files_with_stale_instance_norm_keys_and_renamed_blocks_load():
    ref, sd = _resnet_pair(1)
    stale = dict(sd)
    for i in (2, 5, 8, 17, 20):  # junyanz#461 (9 blocks: 2, 5, 8, 20, 23); here 6 blocks
        stale[f"model.{i}.running_mean"] = torch.zeros(1)
        stale[f"model.{i}.running_var"] = torch.ones(1)
        stale[f"model.{i}.num_batches_tracked"] = torch.tensor(0)
    for b in range(10, 16):
        for j in (2, 6):
            stale[f"model.{b}.conv_block.{j}.running_mean"] = torch.zeros(1)
            stale[f"model.{b}.conv_block.{j}.running_var"] = torch.ones(1)
    renamed = {k.replace(".conv_block.", ".block."): v for k, v in sd.items()}
    wrapped = {"module." + k: v for k, v in sd.items()}
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        expected = ref(x)
        for variant in (stale, renamed):
            assert torch.allclose(load_generator(variant)(x), expected, atol=1e-6)
    from studio.engine.models.checkpoints import strip_prefixes

    assert torch.allclose(load_generator(strip_prefixes(wrapped))(x), expected, atol=1e-6)


def test_unknown_layouts_get_expected_versus_found():
    _, sd = _resnet_pair()
    broken = dict(sd)
    broken["model.13.conv_block.5.weight"] = torch.zeros(32, 32, 1, 1)
    with pytest.raises(ModelLoadError) as info:
        load_generator(broken)
    assert "model.13.conv_block.5.weight" in info.value.message
    assert "[32, 32, 1, 1]" in info.value.message and "[32, 32, 3, 3]" in info.value.message
    with pytest.raises(ModelLoadError) as info:
        load_generator({"encoder.0.weight": torch.zeros(8, 3, 3, 3)})
    assert "Expected ResnetGenerator keys" in info.value.details
    assert "encoder.0.weight" in info.value.details


def test_wrong_shape_message_names_the_key():
    _, sd = _resnet_pair()
    sd["model.23.bias"] = torch.zeros(4)  # 6 blocks: the last conv is model.23
    with pytest.raises(ModelLoadError, match=r"model\.23\.bias has shape \[4\], expected \[3\]"):
        load_generator(sd)


def _unet_pair(seed=0):
    torch.manual_seed(seed)
    ref = randomize_norms(RefUnetGenerator(ngf=4), seed)
    return ref, dict(ref.state_dict())


def test_unet_uses_per_image_batch_statistics_like_pix2pix_test_py():
    ref, sd = _unet_pair()
    ours = load_generator(sd)
    assert isinstance(ours.arch, UnetArch) and ours.arch.use_dropout
    before = {k: v.clone() for k, v in ours.state_dict().items()}
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    ref.train()  # test.py without --eval: BatchNorm in train mode, batch of one
    for m in ref.modules():
        if isinstance(m, nn.Dropout):
            m.eval()  # compare the deterministic part; dropout is checked below
    with torch.no_grad():
        expected = ref(x)
        got = ours(x)
    assert torch.allclose(got, expected, atol=1e-5), (got - expected).abs().max()
    after = ours.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "running stats must not move"


def test_dropout_is_the_seeded_noise_source():
    _, sd = _unet_pair(2)
    net = load_generator(sd)
    x = torch.rand(1, 3, 256, 256) * 2 - 1

    def run(seed):
        assert set_noise(net, seed) == 3  # the three 8*ngf levels, as unet_256
        with torch.no_grad():
            return net(x)

    a, b, c, off = run(1), run(1), run(2), run(None)
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 1e-3
    assert (a - off).abs().max() > 1e-3


def test_unet_infers_levels_and_instance_norm():
    with torch.device("meta"):
        arch = infer_arch(RefUnetGenerator(num_downs=7, ngf=8, norm="instance").state_dict())
    assert len(arch.levels) == 7 and arch.levels[0] == (3, 8) and arch.norm == "instance"
    assert arch.multiple == 128
    np.testing.assert_equal(arch.levels[-1], (64, 64))


def test_half_matching_layouts_are_refused_not_crashed():
    from studio.engine.gan.spade import load_generator as load_spade_generator

    with pytest.raises(ModelLoadError, match="cannot be read"):
        load_generator({"model.model.0.weight": torch.zeros(8, 3, 4, 4)})
    with pytest.raises(ModelLoadError, match="has no head_0 block"):
        load_spade_generator(
            {"fc.weight": torch.zeros(4, 3, 3, 3), "conv_img.weight": torch.zeros(3, 4, 3, 3)}
        )
