"""GanEngine: the run(request, on_step, cancel) seam for SPADE and translate, end to end."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch

from studio.engine.gan.engine import GanEngine
from studio.engine.gan.requests import SpadeRequest, TranslateRequest
from studio.engine.labels import builtin_label_set
from studio.engine.requests import GenerationRequest
from studio.errors import InvalidRequestError, ModelLoadError
from tests.engine.gan.reference_pix2pix import RefResnetGenerator, RefUnetGenerator
from tests.engine.gan.reference_spade import RefGenerator, trained_looking


def _tensor2im(x):
    image = (x[0].numpy().transpose(1, 2, 0) + 1) / 2.0 * 255.0
    return np.clip(image, 0, 255).astype(np.uint8)


def _ade_labels(h=64, w=64):
    ids = np.zeros((h, w), np.uint16)
    ids[: h // 2] = 3  # sky (ADE id 2, file value 3)
    ids[h // 2 :, : w // 2] = 5  # tree
    ids[h // 2 :, w // 2 :] = 10  # grass
    ids[-4:, -4:] = 0  # "other" -> dontcare
    return ids


@pytest.fixture()
def ade_model(tmp_path):
    ref = trained_looking(RefGenerator(151, ngf=2, hidden=8, crop=64), 151, 64, 64)
    path = tmp_path / "ade20k" / "latest_net_G.pth"
    path.parent.mkdir()
    torch.save(ref.state_dict(), path)
    return path, ref


def test_spade_request_gives_the_reference_picture_with_one_preview(ade_model):
    path, ref = ade_model
    ids = _ade_labels()
    steps = []
    result = GanEngine().run(
        SpadeRequest(str(path), ids, "ade20k"), steps.append, threading.Event()
    )
    assert [s.phase for s in steps] == ["loading", "denoising"]
    assert steps[-1].step == steps[-1].total == 1
    assert np.array_equal(steps[-1].image, result.image)
    # Reference input, built as SPADE's preprocess_input: value-1, 0 -> 150, one-hot of 151.
    label = torch.from_numpy(ids.astype(np.int64) - 1)
    label[label < 0] = 150
    onehot = torch.zeros(1, 151, 64, 64).scatter_(1, label[None, None], 1.0)
    with torch.no_grad():
        expected = _tensor2im(ref(onehot))
    assert result.image.shape == (64, 64, 3)
    assert np.abs(result.image.astype(int) - expected).max() <= 1
    assert result.recipe["label_space"] == "ade20k" and result.recipe["unknown_labels"] == {}
    assert result.recipe["mode"] == "spade" and not result.draft


def test_unknown_classes_are_reported_in_the_recipe(ade_model):
    path, _ = ade_model
    coco = builtin_label_set("cocostuff")
    snow = next(c.value for c in coco.classes if c.name == "snow")
    ids = np.full((64, 64), snow, np.uint16)
    ids[:32] = next(c.value for c in coco.classes if c.name == "sky-other")
    result = GanEngine().run(
        SpadeRequest(str(path), ids, "cocostuff"), lambda s: None, threading.Event()
    )
    assert result.recipe["unknown_labels"] == {"snow": 32 * 64}  # ADE has no snow


def test_cityscapes_layout_uses_more_upsampling_and_the_edge_channel(tmp_path):
    ref = trained_looking(
        RefGenerator(36, ngf=2, up="more", hidden=8, crop=128, aspect=2.0), 36, 64, 128
    )
    path = tmp_path / "latest_net_G.pth"
    torch.save(ref.state_dict(), path)
    ids = np.full((64, 128), 7, np.uint16)  # road
    ids[:20] = 23  # sky
    ids[30:50, 40:60] = 26  # a car
    result = GanEngine().run(
        SpadeRequest(str(path), ids, "cityscapes"), lambda s: None, threading.Event()
    )
    onehot = torch.zeros(1, 35, 64, 128).scatter_(
        1, torch.from_numpy(ids.astype(np.int64))[None, None], 1.0
    )
    t = torch.from_numpy(ids.astype(np.int64))[None, None]
    edge = torch.zeros(t.shape, dtype=torch.bool)
    edge[:, :, :, 1:] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, :, :-1] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, 1:, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    edge[:, :, :-1, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    with torch.no_grad():
        expected = _tensor2im(ref(torch.cat([onehot, edge.float()], 1)))
    assert result.recipe["num_upsampling_layers"] == "more"
    assert np.abs(result.image.astype(int) - expected).max() <= 1


def test_our_narrow_checkpoint_with_a_sidecar_and_any_size(tmp_path):
    # A landscape-palette SPADE: 25 channels (values 0..24), no dontcare, no instance edges.
    ref = trained_looking(RefGenerator(25, ngf=2, hidden=8, crop=64), 25, 64, 64)
    path = tmp_path / "landscape_spade.safetensors"
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(path))
    with pytest.raises(ModelLoadError, match="sidecar"):
        GanEngine().run(
            SpadeRequest(str(path), np.ones((64, 64))), lambda s: None, threading.Event()
        )
    sidecar = {"label_set": "landscape", "label_nc": 25, "no_instance": True}
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    ids = np.ones((50, 70), np.uint16)  # not a multiple of 32: runs at 64x64, resized back
    ids[25:] = 9
    result = GanEngine().run(
        SpadeRequest(str(path), ids, "landscape"), lambda s: None, threading.Event()
    )
    assert result.image.shape == (50, 70, 3)
    assert result.recipe["label_space"] == "landscape" and result.recipe["unknown_labels"] == {}


def test_cancel_before_start_returns_none_without_steps(ade_model):
    path, _ = ade_model
    cancel = threading.Event()
    cancel.set()
    steps = []
    assert GanEngine().run(SpadeRequest(str(path), _ade_labels()), steps.append, cancel) is None
    assert steps == []


def test_style_image_on_a_deterministic_model_is_refused(ade_model):
    path, _ = ade_model
    request = SpadeRequest(str(path), _ade_labels(), style_image=np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InvalidRequestError, match="no style encoder"):
        GanEngine().run(request, lambda s: None, threading.Event())


def test_translate_picks_the_generator_for_the_direction(tmp_path):
    torch.manual_seed(0)
    a, b = (
        RefResnetGenerator(ngf=4, n_blocks=2).eval(),
        RefResnetGenerator(ngf=4, n_blocks=2).eval(),
    )
    torch.save(a.state_dict(), tmp_path / "latest_net_G_A.pth")
    torch.save(b.state_dict(), tmp_path / "latest_net_G_B.pth")
    image = np.random.default_rng(0).integers(0, 256, (48, 40, 3), dtype=np.uint8)
    engine = GanEngine()
    x = torch.from_numpy(image.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1)
    for direction, ref in (("AtoB", a), ("BtoA", b)):
        steps = []
        result = engine.run(
            TranslateRequest(str(tmp_path), image, direction), steps.append, threading.Event()
        )
        with torch.no_grad():
            expected = _tensor2im(ref(x))
        assert np.abs(result.image.astype(int) - expected).max() <= 1
        assert len(steps) == 2 and result.recipe["direction"] == direction
    with pytest.raises(InvalidRequestError, match="one way only"):
        engine.run(
            TranslateRequest(
                str(tmp_path / "latest_net_G_A.pth").replace("_A", "_X"), image, "BtoA"
            ),
            lambda s: None,
            threading.Event(),
        )


def test_pix2pix_unet_seed_varies_the_picture_only_through_dropout(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "facades_label2photo.pth"
    torch.save(RefUnetGenerator(ngf=2).state_dict(), path)
    image = np.random.default_rng(1).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    engine = GanEngine()

    def run(seed, dropout=None):
        req = TranslateRequest(str(path), image, seed=seed, dropout=dropout)
        return engine.run(req, lambda s: None, threading.Event()).image

    assert np.array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))
    assert np.array_equal(run(1, dropout=False), run(2, dropout=False))


def test_out_of_memory_becomes_a_plain_words_error(ade_model, monkeypatch):
    from studio.engine.gan import spade_model
    from studio.errors import OutOfMemoryError

    def fail(loaded, request):
        raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 9 GB")

    monkeypatch.setattr(spade_model, "render", fail)
    path, _ = ade_model
    with pytest.raises(OutOfMemoryError, match="ran out of memory"):
        GanEngine().run(SpadeRequest(str(path), _ade_labels()), lambda s: None, threading.Event())


def test_router_sends_gan_requests_to_the_gan_engine(ade_model):
    from studio.engine.router import EngineRouter

    class Recorder:
        def __init__(self):
            self.requests = []

        def run(self, request, on_step, cancel):
            self.requests.append(request)
            return "diffusion"

    diffusion = Recorder()
    router = EngineRouter(diffusion=diffusion)
    path, _ = ade_model
    result = router.run(SpadeRequest(str(path), _ade_labels()), lambda s: None, threading.Event())
    assert result.recipe["mode"] == "spade" and diffusion.requests == []
    prompt = GenerationRequest(model_path="sd-model", prompt="a prompt")
    assert router.run(prompt, lambda s: None, threading.Event()) == "diffusion"
