"""The session: validation, request snapshots, results as undoable layers, drafts, errors."""

from __future__ import annotations

import numpy as np
import pytest

from studio.document.document import Document
from studio.session.jobs import JobQueue
from studio.session.session import GenerationSession
from studio.worker.worker import GenerationWorker
from tests.fakes import FakeEngine


@pytest.fixture
def setup(qapp, tiny_sd_path):
    engine = FakeEngine(steps=3, step_delay=0.01)
    doc = Document(64, 64)
    worker = GenerationWorker(engine)
    session = GenerationSession(doc, JobQueue(worker))
    session.settings.model_path = str(tiny_sd_path)
    session.settings.width = session.settings.height = 64
    yield session, doc, engine
    assert worker.shutdown(2.0)


def test_no_model_gives_an_error_and_queues_nothing(qtbot, no_bundled_models, setup, tiny_sd_path):
    session, doc, engine = setup
    session.settings.model_path = ""
    with qtbot.waitSignal(session.error_raised) as error:
        assert session.generate() is None
    assert "No model is installed yet" in error.args[0]
    session.extra_model_paths = [str(tiny_sd_path)]
    session.refresh_models()
    session.settings.model_path = ""
    with qtbot.waitSignal(session.error_raised) as error:
        assert session.generate() is None
    assert "No model is selected" in error.args[0]
    assert not session.worker.is_busy() and engine.runs == []


def test_result_becomes_one_undoable_layer(qtbot, setup):
    session, doc, _ = setup
    session.settings.prompt = "a small boat"
    session.settings.random_seed = False
    session.settings.seed = 77
    with qtbot.waitSignal(session.result_added, timeout=5000):
        session.generate()
    assert len(doc.layers) == 2
    layer = doc.layers[-1]
    assert layer.name == "Prompt: a small boat" and not layer.draft
    assert layer.metadata["seed"] == 77 and layer.pixels.shape == (64, 64, 4)
    assert doc.active_layer is layer
    doc.undo_stack.undo()
    assert len(doc.layers) == 1
    doc.undo_stack.redo()
    assert doc.layers[-1] is layer


def test_random_seed_is_resolved_before_queueing(qtbot, setup):
    session, _, engine = setup
    session.settings.random_seed = True
    with qtbot.waitSignal(session.result_added, timeout=5000):
        session.generate()
    assert engine.runs[0].seed == session.last_seed


def test_img2img_snapshots_the_canvas(qtbot, setup):
    session, doc, engine = setup
    doc.layers[0].pixels[:] = (10, 20, 30, 255)
    session.settings.img2img = True
    session.settings.strength = 0.5
    with qtbot.waitSignal(session.result_added, timeout=5000):
        session.generate()
        doc.layers[0].pixels[:] = (0, 0, 0, 255)  # painting on after Generate changes nothing
    init = engine.runs[0].init_image
    assert init.shape == (64, 64, 3) and tuple(init[0, 0]) == (10, 20, 30)
    assert engine.runs[0].strength == 0.5


def test_result_of_another_size_resizes_the_canvas_in_the_same_undo_step(qtbot, setup):
    session, doc, _ = setup
    session.settings.width, session.settings.height = 128, 96
    with qtbot.waitSignal(session.result_added, timeout=5000):
        session.generate()
    assert (doc.width, doc.height) == (128, 96) and doc.composite().shape == (96, 128, 4)
    doc.undo_stack.undo()
    assert (doc.width, doc.height) == (64, 64) and len(doc.layers) == 1


def test_cancelled_job_lands_as_a_draft(qtbot, setup):
    session, doc, engine = setup
    engine.steps, engine.step_delay = 200, 0.01
    session.settings.prompt = "forest"
    previews = []
    session.preview_changed.connect(previews.append)
    session.generate()
    qtbot.waitUntil(lambda: any(p is not None for p in previews), timeout=5000)
    with qtbot.waitSignal(session.result_added, timeout=5000):
        session.cancel()
    layer = doc.layers[-1]
    assert layer.draft and layer.name.startswith("Draft (step ")
    assert "forest" in layer.name
    assert previews[-1] is None  # the preview overlay is cleared


def test_progress_reports_rate_and_eta(qtbot, setup):
    session, _, engine = setup
    engine.steps, engine.step_delay = 5, 0.05
    progress = []
    session.progress_changed.connect(progress.append)
    with qtbot.waitSignal(session.result_added, timeout=5000):
        session.generate()
    steps = [p for p in progress if p is not None and p.phase == "denoising"]
    assert steps and steps[-1].total == 5
    assert all(p.it_per_s > 0 for p in steps)
    assert progress[-1] is None  # idle again


def test_failed_job_reaches_the_banner(qtbot, setup):
    from studio.errors import OutOfMemoryError

    session, doc, engine = setup
    engine.fail_with = OutOfMemoryError("The cpu ran out of memory.", "details")
    with qtbot.waitSignal(session.error_raised, timeout=5000) as error:
        session.generate()
    assert error.args == ["The cpu ran out of memory.", "details"]
    assert len(doc.layers) == 1


def test_open_model_folder_refuses_a_non_model(qtbot, setup, tmp_path):
    session, _, _ = setup
    with qtbot.waitSignal(session.error_raised) as error:
        assert not session.open_model_folder(str(tmp_path))
    assert "not a diffusers model folder" in error.args[0]


def test_composite_is_alpha_over():
    from studio.document.layers import Layer, composite

    bottom = Layer("b", np.full((2, 2, 4), (0, 0, 255, 255), np.uint8))
    top = Layer("t", np.full((2, 2, 4), (255, 0, 0, 128), np.uint8))
    out = composite([bottom, top], 2, 2)
    assert tuple(out[0, 0]) == (128, 0, 127, 255)
    top.visible = False
    assert tuple(composite([bottom, top], 2, 2)[0, 0]) == (0, 0, 255, 255)


def test_a_job_that_ran_differently_says_so(qtbot, setup):
    """An out-of-memory retry or a float32 re-decode reaches the artist, not only the recipe."""
    session, doc, engine = setup
    retry = "Ran out of memory; retried with tiled VAE and a batch of 1."
    engine.recipe_extra = {"memory_retry": retry}
    notices = []
    session.notice.connect(notices.append)
    with qtbot.waitSignal(session.job_noted, timeout=5000) as noted:
        session.generate()
    qtbot.waitUntil(lambda: any(n.startswith(retry) for n in notices))
    assert noted.args == [retry] and doc.layers[-1].metadata["memory_retry"] == retry
    engine.recipe_extra = {}
    with qtbot.assertNotEmitted(session.job_noted), qtbot.waitSignal(session.result_added):
        session.generate()
