"""Live SPADE draft while painting: real tiny SPADE on the worker, newest edit wins."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from studio.document.document import Document
from studio.engine.requests import GenerationRequest
from studio.session.jobs import JobQueue
from studio.session.live_draft import CHANNEL, LiveDraft, spade_models
from studio.worker.worker import GenerationWorker
from tests.fakes import FakeEngine


@pytest.fixture(scope="module")
def spade_path(tmp_path_factory):
    import torch

    from tests.engine.gan.reference_spade import RefGenerator

    folder = tmp_path_factory.mktemp("spade")
    torch.manual_seed(0)
    model = RefGenerator(25, ngf=2, hidden=4, crop=32)  # Landscape: 24 classes + dontcare
    torch.save(model.state_dict(), folder / "tiny-spade.pth")
    (folder / "tiny-spade.json").write_text(json.dumps({"label_set": "landscape"}))
    return folder / "tiny-spade.pth"


@pytest.fixture
def painting(qapp, spade_path):
    from studio.app.main import make_engine

    doc = Document(64, 64)
    worker = GenerationWorker(make_engine())
    live = LiveDraft(doc, JobQueue(worker))
    live.set_model(str(spade_path))
    live.set_enabled(True)
    labels = doc.add_label_layer()
    yield doc, live, labels
    assert worker.shutdown(5.0)
    release(live)


def release(live) -> None:
    """Delete the controller's Qt side now: its connections must not outlive the test (the
    garbage collector would otherwise pick the moment, maybe inside another test's loop)."""
    from PySide6.QtWidgets import QApplication
    from shiboken6 import delete

    QApplication.processEvents()  # the last queued job signals, while live still exists
    delete(live)


def live_layer(doc):
    return next((la for la in doc.layers if la.metadata.get("live_draft")), None)


def test_spade_models_are_found(spade_path):
    assert [m.name for m in spade_models([spade_path.parent])] == ["tiny-spade.pth"]


def test_a_stroke_renders_a_draft_under_the_labels(qtbot, painting):
    doc, live, labels = painting
    steps_before = doc.undo_stack.count()
    pixels = labels.pixels.copy()
    pixels[:32] = 1  # sky
    pixels[32:] = 4  # sea
    with qtbot.waitSignal(live.draft_shown, timeout=20000):
        doc.replace_pixels(labels, pixels, "Paint")
    draft = live_layer(doc)
    assert draft is not None and draft.pixels.shape == (64, 64, 4)
    assert doc.index_of(draft.id) < doc.index_of(labels.id)  # labels stay on top
    assert doc.active_layer is labels  # painting goes on where it was
    assert doc.undo_stack.count() == steps_before + 1  # the draft itself is no undo step
    first = draft.pixels.copy()
    pixels[:] = 4
    with qtbot.waitSignal(live.draft_shown, timeout=20000):
        doc.replace_pixels(labels, pixels, "Paint")
    assert live_layer(doc) is draft and not np.array_equal(draft.pixels, first)
    assert sum(1 for la in doc.layers if la.metadata.get("live_draft")) == 1


def test_no_draft_without_a_label_layer_or_when_off(qtbot, painting):
    doc, live, labels = painting
    live.set_enabled(False)
    assert live.render_now() is None
    live.set_enabled(True)
    doc.set_active_layer(doc.layers[0].id)  # the raster background
    assert live.render_now() is None


def test_a_broken_model_stops_the_draft_with_one_message(qtbot, painting, tmp_path):
    doc, live, labels = painting
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    live.set_model(str(bad))
    with qtbot.waitSignal(live.error_raised, timeout=20000) as error:
        live.render_now()
    assert error.args[0].startswith("Live draft stopped:") and not live.enabled


def test_waiting_drafts_are_dropped_for_the_newest(qapp, qtbot):
    gate = threading.Event()
    engine = FakeEngine(steps=1, gate=gate)
    worker = GenerationWorker(engine)
    try:
        first = worker.submit(GenerationRequest("m", "p", seed=1), channel=CHANNEL)
        qtbot.waitUntil(lambda: len(engine.runs) == 1)
        for seed in (2, 3, 4):
            worker.submit(GenerationRequest("m", "p", seed=seed), channel=CHANNEL)
        worker.submit(GenerationRequest("m", "p", seed=9))  # other jobs are never dropped
        assert [j.request.seed for j in worker.jobs()] == [1, 4, 9]
        gate.set()
        qtbot.waitUntil(lambda: not worker.is_busy(), timeout=5000)
        assert [r.seed for r in engine.runs] == [1, 4, 9] and first == 1
    finally:
        assert worker.shutdown(2.0)


def test_the_artists_pick_then_a_starter_then_the_first(tmp_path):
    from studio.session.live_draft import preferred_spade
    from tests.starter_models import save_tiny_spade

    starter = save_tiny_spade(tmp_path / "zz" / "starter-spade")
    plain = save_tiny_spade(tmp_path / "aa" / "starter-spade", starter=False)
    models = spade_models([tmp_path / "aa" / "starter-spade", tmp_path / "zz" / "starter-spade"])
    assert [m.path for m in models] == [str(plain), str(starter)]
    assert preferred_spade(models) == str(starter)
    assert preferred_spade(models, str(plain)) == str(plain)
    assert preferred_spade(models, str(tmp_path / "gone.safetensors")) == str(starter)
    assert preferred_spade(models[:1]) == str(plain)
    assert preferred_spade([]) == ""


class GatedEngine:
    """The real engine, each run held until `gate` is set (the test decides when renders end)."""

    def __init__(self) -> None:
        from studio.app.main import make_engine

        self.engine, self.gate, self.requests = make_engine(), threading.Event(), []

    def run(self, request, on_step, cancel):
        self.requests.append(request)
        self.gate.wait(10)
        return self.engine.run(request, on_step, cancel)


@pytest.fixture
def gated(qapp, spade_path):
    engine = GatedEngine()
    worker = GenerationWorker(engine)
    doc = Document(512, 512)
    live = LiveDraft(doc, JobQueue(worker))
    live.set_model(str(spade_path))
    live.set_enabled(True)
    labels = doc.add_label_layer()
    yield doc, live, labels, engine
    engine.gate.set()
    assert worker.shutdown(5.0)
    release(live)


def dab(doc, labels, y: int) -> None:
    """A brush dab painted live (no undo step yet), as a tool does it."""
    labels.writable_pixels()[y : y + 8, 100:140] = 1
    doc.notify_painted(labels, (100, y, 140, y + 8))


def test_drafts_are_reduced_while_the_brush_moves_and_full_when_it_lifts(qtbot, gated):
    doc, live, labels, engine = gated
    engine.gate.set()
    qtbot.waitUntil(lambda: not live.jobs.busy(live), timeout=20000)  # the new layer's draft
    before = labels.pixels.copy()
    with qtbot.waitSignal(live.draft_shown, timeout=20000):
        dab(doc, labels, 10)
    assert engine.requests[-1].label_map.shape == (256, 256)  # mid-stroke: half size
    assert live_layer(doc).pixels.shape == (512, 512, 4)  # shown at the canvas size
    with qtbot.waitSignal(live.draft_shown, timeout=20000):
        doc.commit_pixels(labels, (100, 10, 140, 18), before[10:18, 100:140], "Stroke")
    assert engine.requests[-1].label_map.shape == (512, 512)  # the stroke ended: full size


def test_one_draft_in_flight_and_the_edits_during_it_render_next(qtbot, gated):
    doc, live, labels, engine = gated
    # the new label layer was submitted at once (no debounce timer) and is held rendering
    qtbot.waitUntil(lambda: len(engine.requests) == 1, timeout=5000)
    for y in (10, 30, 50, 70):  # while it renders: no new job, only a note to render again
        dab(doc, labels, y)
        qtbot.wait(5)
    assert len(engine.requests) == 1 and len(live.jobs.jobs(live)) == 1
    with qtbot.waitSignal(live.draft_shown, timeout=20000):
        engine.gate.set()
    qtbot.waitUntil(lambda: len(engine.requests) == 2, timeout=5000)  # the gathered edits
    qtbot.waitUntil(lambda: not live.jobs.busy(live), timeout=20000)
    shown = engine.requests[-1].label_map  # one render of every dab (reduced: mid-stroke)
    assert shown.shape == (256, 256) and all(shown[y // 2, 60] == 1 for y in (10, 30, 50, 70))
    assert len(engine.requests) == 2
