"""The Timeline on the starter diffusion: a pixel-space run fills it live, steps become layers."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from studio.document.layers import rgba_from_rgb
from studio.engine.diffusion.engine import DiffusionEngine
from studio.engine.router import EngineRouter
from studio.engine.starter.engine import StarterEngine
from studio.io.run_views import resized
from studio.ui.timeline.panel import DECODE_TIP, PIXELS_TIP
from tests.starter_models import save_tiny_starter_diffusion
from tests.ui.test_timeline import timeline_window
from tests.ui.test_timeline_live import PausingEngine, wait_for_steps


@pytest.fixture(scope="module")
def starter_path(tmp_path_factory):
    return save_tiny_starter_diffusion(tmp_path_factory.mktemp("models") / "starter-diffusion")


@pytest.fixture
def paused(qtbot, tmp_path, starter_path):
    engine = PausingEngine(3, engine=StarterEngine())
    router = EngineRouter(diffusion=DiffusionEngine(), starter=engine)
    win = timeline_window(qtbot, tmp_path, starter_path, router)
    yield win, engine
    engine.pauses.clear()
    engine.resume()
    win.close()


def test_a_starter_run_fills_the_timeline_and_a_step_becomes_a_layer(qtbot, paused, tmp_path):
    win, engine = paused
    panel = win.timeline_panel
    assert panel.current_run() is None and "No run recorded" in panel.image.caption
    win.generate()
    wait_for_steps(qtbot, panel, 3)  # the starter is still denoising
    assert engine.paused.is_set() and "(running)" in panel.run_combo.currentText()
    assert panel.filmstrip.count() == 3 and panel.step_label.text().startswith("step 3/6")
    assert panel.sigma_plot.slots == 6
    assert not panel.decode_button.isEnabled() and not panel.decoder_combo.isEnabled()
    assert panel.decode_button.toolTip() == PIXELS_TIP and "pixels" in PIXELS_TIP
    engine.resume()
    qtbot.waitUntil(lambda: not panel.current_run().live, timeout=30000)

    run = panel.current_run()
    assert [f.step for f in run.record.frames] == [1, 2, 3, 4, 5, 6]
    assert run.recipe["model_family"] == "starter" and not run.draft
    sigmas = panel.sigma_plot.values
    assert sigmas == sorted(sigmas, reverse=True) and len(sigmas) == 6
    assert win.run_history.decode(run.job_id, 5) is None and not win.banner.message
    panel.set_step(3)
    layers = len(win.document.layers)
    panel.promote_button.click()
    layer = win.document.layers[-1]
    assert len(win.document.layers) == layers + 1
    assert layer.name.startswith("Step 4/6 (x0)") and layer.draft
    assert layer.metadata["promoted_step"] == 4 and layer.metadata["engine"] == "starter"
    size = (run.record.width, run.record.height)
    assert size == (win.document.width, win.document.height)  # the starter fills the canvas
    x0 = resized(run.record.frames[3].x0, *size)  # its 32² pixels, upscaled as the engine does
    assert np.array_equal(layer.pixels, rgba_from_rgb(x0))
    win.document.undo_stack.undo()
    assert len(win.document.layers) == layers

    with qtbot.waitSignal(win.run_exporter.finished, timeout=10000):
        assert panel.export_to(str(tmp_path / "run.webp"))
    with Image.open(tmp_path / "run.webp") as image:
        assert image.n_frames == 6 and image.size == size


def test_decoding_comes_back_for_a_latent_model(qtbot, paused, tiny_sd_path):
    win, engine = paused
    engine.pauses.clear()
    panel = win.timeline_panel
    win.generate()
    qtbot.waitUntil(lambda: panel.current_run() is not None, timeout=30000)
    qtbot.waitUntil(lambda: not panel.current_run().live, timeout=30000)
    assert not panel.decode_button.isEnabled()
    win.session.open_model_folder(str(tiny_sd_path))
    win.prompt_panel.load(win.session.settings)
    win.prompt_panel.steps_spin.setValue(2)
    win.generate()
    qtbot.waitUntil(lambda: len(win.run_history.runs) == 2, timeout=30000)
    qtbot.waitUntil(lambda: not win.run_history.runs[-1].live, timeout=30000)
    assert panel.decode_button.isEnabled() and panel.decoder_combo.isEnabled()
    assert panel.decode_button.toolTip() == DECODE_TIP
    panel.run_combo.setCurrentIndex(0)  # back to the starter's run
    assert not panel.decode_button.isEnabled() and panel.decode_button.toolTip() == PIXELS_TIP
