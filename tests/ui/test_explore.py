"""The Explore dock on the real tiny engine: sampler grid, seed walk, variations, open a cell."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from studio.engine.diffusion.engine import DiffusionEngine
from studio.ui.timeline.explore_panel import parse_steps


@pytest.fixture
def window(qtbot, tmp_path, tiny_sd_path):
    from tests.ui.test_timeline import timeline_window

    win = timeline_window(qtbot, tmp_path, tiny_sd_path, DiffusionEngine(), 3, "Euler", "21")
    yield win
    win.explore_batch.stop()
    win.close()


def plain(request) -> np.ndarray:
    return DiffusionEngine().run(request, lambda _p: None, threading.Event()).image


def run_batch(qtbot, panel) -> None:
    with qtbot.waitSignal(panel.batch.batch_done, timeout=60000):
        assert panel.run_batch()


def test_sampler_comparison_grid(qtbot, window):
    panel = window.explore_panel
    panel.tabs.setCurrentIndex(0)
    for i in range(panel.sampler_list.count()):
        item = panel.sampler_list.item(i)
        on = item.text() in ("Euler", "DDIM")
        item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
    panel.steps_edit.setText("2, 3")
    run_batch(qtbot, panel)
    cells = panel.batch.cells
    assert [c.label for c in cells] == [
        "Euler · 2 steps",
        "Euler · 3 steps",
        "DDIM · 2 steps",
        "DDIM · 3 steps",
    ]
    assert {c.request.seed for c in cells} == {21} and all(c.state == "done" for c in cells)
    positions = [panel.grid.getItemPosition(panel.grid.indexOf(b))[:2] for b in panel.buttons]
    assert positions == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert (
        panel.buttons[3].text().startswith("DDIM · 3 steps\n") and " s" in panel.buttons[3].text()
    )
    layers = len(window.document.layers)
    panel.buttons[2].click()
    assert len(window.document.layers) == layers + 1
    layer = window.document.layers[-1]
    assert layer.name == "Compare: DDIM · 2 steps"
    assert np.array_equal(layer.pixels[:, :, :3], plain(cells[2].request))
    window.document.undo_stack.undo()
    assert len(window.document.layers) == layers


def test_seed_walk_strip_ends_are_the_two_seeds(qtbot, window, tmp_path):
    panel = window.explore_panel
    panel.tabs.setCurrentIndex(1)
    panel.seed_b_edit.setText("99")
    panel.frames_spin.setValue(3)
    run_batch(qtbot, panel)
    cells = panel.batch.cells
    assert [panel.grid.getItemPosition(panel.grid.indexOf(b))[:2] for b in panel.buttons] == [
        (0, 0),
        (0, 1),
        (0, 2),
    ]
    base = window.session.build_request()[0]
    assert np.array_equal(cells[0].image, plain(base))
    from dataclasses import replace

    assert np.array_equal(cells[-1].image, plain(replace(base, seed=99)))
    assert panel.save_animation(str(tmp_path / "walk.gif"))
    with Image.open(tmp_path / "walk.gif") as image:
        assert image.n_frames == 3 and image.size == (64, 64)


def test_variations_and_bad_input(qtbot, window):
    panel = window.explore_panel
    panel.tabs.setCurrentIndex(2)
    panel.count_spin.setValue(2)
    run_batch(qtbot, panel)
    assert [c.request.variation_seed for c in panel.batch.cells] == [22, 23]
    assert not np.array_equal(panel.batch.cells[0].image, panel.batch.cells[1].image)
    panel.tabs.setCurrentIndex(1)
    panel.seed_b_edit.setText("")
    panel.prompt_b_edit.setText("")
    assert not panel.run_batch()
    assert "second seed, a second prompt" in window.banner.message
    with pytest.raises(Exception, match="'x'"):
        parse_steps("10, x")
