"""Saving off the GUI thread: snapshot here, write there; painting goes on during a save."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from studio.document.document import Document
from studio.document.layers import Layer
from studio.document.paint import BrushSettings, Stroke
from studio.io.project import load_project
from studio.session.saver import BackgroundSaver, snapshot_project


def _doc() -> Document:
    doc = Document(64, 48)
    doc.add_layer(Layer("Red", np.full((48, 64, 4), (200, 0, 0, 255), np.uint8)))
    doc.add_mask_layer("Mask")
    return doc


@pytest.fixture
def saver(qtbot):
    saver = BackgroundSaver()
    yield saver
    saver.shutdown()


def test_the_write_runs_on_the_file_thread_and_the_file_is_complete(qtbot, saver, tmp_path):
    doc = _doc()
    path = tmp_path / "a.studio"
    with qtbot.waitSignal(saver.finished, timeout=10000) as done:
        saver.save_project("Save", path, snapshot_project(doc))
    assert done.args == ["Save", str(path), ""]
    assert saver.last_thread.startswith("studio-files")
    assert saver.last_thread != threading.current_thread().name
    data = load_project(path)
    assert [x["name"] for x in data.layers] == ["Background", "Red", "Mask"]
    assert np.array_equal(data.layers[1]["pixels"], doc.layers[1].pixels)


def test_painting_during_a_save_keeps_the_snapshot_and_the_stroke(qtbot, saver, tmp_path):
    doc = _doc()
    red = doc.layers[1]
    gate = threading.Event()
    data = snapshot_project(doc)
    before = red.pixels
    # the writer is held on the file thread while the GUI thread paints on the same layer
    saver.submit("Hold", tmp_path / "x", lambda _p, _progress: gate.wait(10))
    with qtbot.waitSignal(saver.finished, timeout=10000, check_params_cb=lambda *a: a[0] == "Save"):
        saver.save_project("Save", tmp_path / "b.studio", data)
        assert saver.busy()
        stroke = Stroke(red, BrushSettings(size=9, hardness=1.0), (0, 0, 255))
        stroke.add_point(20, 20)
        stroke.add_point(40, 20)
        doc.commit_pixels(red, *stroke.finish(), "Stroke")
        gate.set()
    assert red.pixels is not before  # copy-on-write: the stroke went to a private copy
    assert tuple(red.pixels[20, 30]) == (0, 0, 255, 255)
    saved = load_project(tmp_path / "b.studio").layers[1]["pixels"]
    assert tuple(saved[20, 30]) == (200, 0, 0, 255)  # the file has the document as it was
    doc.undo_stack.undo()
    assert tuple(red.pixels[20, 30]) == (200, 0, 0, 255)


def test_a_frozen_layer_refuses_writes_that_skip_writable_pixels():
    layer = _doc().layers[1]
    layer.snapshot()
    with pytest.raises(ValueError):
        layer.pixels[0, 0] = 0
    layer.writable_pixels()[0, 0] = 0
    assert tuple(layer.pixels[0, 0]) == (0, 0, 0, 0)


def test_a_failed_write_is_reported_not_raised(qtbot, saver, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with qtbot.waitSignal(saver.finished, timeout=10000) as done:
        saver.save_project("Save", blocker / "a.studio", snapshot_project(_doc()))
    assert done.args[0] == "Save" and done.args[2]


def test_wait_finishes_a_write_in_flight(qtbot, saver, tmp_path):
    gate = threading.Event()
    saver.submit("Hold", tmp_path / "x", lambda _p, _progress: gate.wait(10))
    saver.save_project("Save", tmp_path / "c.studio", snapshot_project(_doc()))
    assert not saver.wait(0.05)  # still held
    gate.set()
    assert saver.wait(10)
    assert len(load_project(tmp_path / "c.studio").layers) == 3
