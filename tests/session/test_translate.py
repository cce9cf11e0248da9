"""Translate mode: a real tiny pix2pix ResNet on the worker, on the layer or the selection."""

from __future__ import annotations

import numpy as np
import pytest

from studio.document.document import Document
from studio.document.layers import Layer
from studio.session.jobs import JobQueue
from studio.session.translate import Translator, translate_models
from studio.worker.worker import GenerationWorker


@pytest.fixture(scope="module")
def resnet_path(tmp_path_factory):
    import torch

    from tests.engine.gan.reference_pix2pix import RefResnetGenerator

    folder = tmp_path_factory.mktemp("p2p")
    torch.manual_seed(0)
    torch.save(RefResnetGenerator(ngf=2, n_blocks=1).state_dict(), folder / "tiny_net_G.pth")
    return folder / "tiny_net_G.pth"


@pytest.fixture
def setup(qapp):
    from studio.app.main import make_engine

    doc = Document(64, 48)
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (48, 64, 4), dtype=np.uint8)
    pixels[..., 3] = 255
    doc.add_layer(Layer("photo", pixels))
    worker = GenerationWorker(make_engine())
    yield doc, Translator(doc, JobQueue(worker))
    assert worker.shutdown(5.0)


def test_models_are_found(resnet_path):
    assert [m.family for m in translate_models([resnet_path.parent])] == ["pix2pix-resnet"]


def test_translate_the_whole_layer_as_one_undo_step(qtbot, setup, resnet_path):
    doc, translator = setup
    with qtbot.waitSignal(translator.result_added, timeout=30000):
        translator.translate(str(resnet_path), "AtoB", seed=1)
    layer = doc.layers[-1]
    assert layer.name == "Translated photo" and layer.pixels.shape == (48, 64, 4)
    assert np.all(layer.pixels[..., 3] == 255)
    assert not np.array_equal(layer.pixels[..., :3], doc.layers[-2].pixels[..., :3])
    doc.undo_stack.undo()
    assert doc.layers[-1].name == "photo"


def test_only_the_selection_is_translated(qtbot, setup, resnet_path):
    doc, translator = setup
    selection = np.zeros((48, 64), bool)
    selection[10:30, 20:50] = True
    doc.set_selection(selection)
    with qtbot.waitSignal(translator.result_added, timeout=30000):
        translator.translate(str(resnet_path))
    alpha = doc.layers[-1].pixels[..., 3]
    assert np.array_equal(alpha > 0, selection)


def test_refuses_without_model_or_image_layer(qtbot, setup):
    doc, translator = setup
    with qtbot.waitSignal(translator.error_raised) as error:
        translator.translate("")
    assert "Choose a pix2pix" in error.args[0]
    doc.add_label_layer()
    with qtbot.waitSignal(translator.error_raised) as error:
        translator.translate("/some/model.pth")
    assert "image layer" in error.args[0]
