"""The session with the starter diffusion: default selection and every mode through the real
StarterEngine behind the worker (a tiny random-init starter)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from studio.document.document import Document
from studio.document.palette import load_palette
from studio.engine.router import EngineRouter
from studio.engine.starter import vocab
from studio.engine.starter.composite import feather
from studio.engine.starter.model import build_unet, save_starter, tiny_config
from studio.session.jobs import JobQueue
from studio.session.session import GenerationSession
from studio.worker.worker import GenerationWorker


@pytest.fixture(scope="module")
def starter_models(tmp_path_factory):
    torch.manual_seed(0)
    cfg = tiny_config()
    base = tmp_path_factory.mktemp("starter-models")
    save_starter(base / "starter-diffusion", build_unet(cfg), cfg, "# Tiny\n", fp16=False)
    return base


@pytest.fixture
def setup(qapp, starter_models, tiny_sd_path, monkeypatch, no_bundled_models):
    monkeypatch.setenv("STUDIO_MODELS_PATH", f"{tiny_sd_path.parent}:{starter_models}")
    doc = Document(48, 40)
    worker = GenerationWorker(EngineRouter(diffusion=object()))
    session = GenerationSession(doc, JobQueue(worker))
    session.settings.num_inference_steps = 3
    session.settings.steps = 3
    session.settings.random_seed = False
    yield session, doc
    assert worker.shutdown(5.0)


def test_starter_is_the_default_and_prompt_mode_runs_at_canvas_size(qtbot, setup):
    session, doc = setup
    session.refresh_models()
    assert len([m for m in session.models if m.usable]) == 2
    assert session.settings.model_path.endswith("starter-diffusion")
    session.settings.prompt = "misty autumn forest with a castle"
    with qtbot.waitSignal(session.result_added, timeout=20000):
        session.generate()
    layer = doc.layers[-1]
    assert layer.pixels.shape == (40, 48, 4)
    assert layer.metadata["ignored_words"] == ["castle"]
    assert layer.metadata["materials"] == ["tree"]


def _with_models(session):
    session.refresh_models()
    return session


def test_paint_mode_reads_the_landscape_label_layer(qtbot, setup):
    session, doc = setup
    _with_models(session)
    labels = doc.add_label_layer(palette=load_palette("Landscape"))
    labels.pixels[:20] = vocab.material_value("sky")
    labels.pixels[20:] = vocab.material_value("sea")
    session.settings.mode = "paint"
    request, _ = session.build_request()
    assert (request.width, request.height) == (48, 40) and request.controlnet_path is None
    assert np.array_equal(request.label_map, labels.pixels)
    with qtbot.waitSignal(session.result_added, timeout=20000):
        session.generate()
    assert doc.layers[-1].metadata["label_map_source"] == "painted label layer"


def test_inpaint_mode_changes_only_the_masked_part(qtbot, setup):
    session, doc = setup
    _with_models(session)
    rng = np.random.default_rng(1)
    doc.layers[0].pixels[:, :, :3] = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    before = doc.layers[0].pixels[:, :, :3].copy()
    mask = np.zeros((40, 48), np.uint8)
    mask[8:32, 10:38] = 255
    doc.add_mask_layer(pixels=mask)
    session.settings.mode = "inpaint"
    session.settings.mask_blur = 4
    with qtbot.waitSignal(session.result_added, timeout=20000):
        session.generate()
    out = doc.layers[-1].pixels[:, :, :3]
    outside = feather(mask, 4) == 0
    assert np.array_equal(out[outside], before[outside])
    assert not np.array_equal(out[14:26, 18:30], before[14:26, 18:30])
