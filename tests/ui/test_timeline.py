"""The Timeline dock on a real recorded run: scrub, plots, play, decode, promote, export."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest

from studio.app.main import build_window
from studio.engine.diffusion.engine import DiffusionEngine


@pytest.fixture
def window(qtbot, tmp_path, tiny_sd_path):
    win = timeline_window(qtbot, tmp_path, tiny_sd_path, DiffusionEngine())
    yield win
    win.close()


def timeline_window(
    qtbot, tmp_path, tiny_sd_path, engine, steps=6, sampler="Heun", seed: str | None = None
):
    """The main window on `engine` and the tiny model: 64x64, fixed seed, a red barn."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("engine/device", "cpu")
    settings.setValue("engine/dtype", "float32")
    win = build_window(engine, settings)
    win.session.open_model_folder(str(tiny_sd_path))
    p = win.prompt_panel
    p.load(win.session.settings)
    p.width_spin.setValue(64)
    p.height_spin.setValue(64)
    p.steps_spin.setValue(steps)
    p.sampler_combo.setCurrentText(sampler)
    p.random_check.setChecked(False)
    if seed is not None:
        p.seed_edit.setText(seed)
    p.prompt_edit.setPlainText("a red barn")
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def generate(qtbot, win) -> None:
    runs = len(win.run_history.runs)
    win.generate()
    qtbot.waitUntil(lambda: len(win.run_history.runs) == runs + 1, timeout=30000)
    qtbot.waitUntil(lambda: not win.run_history.runs[-1].live, timeout=30000)  # result landed


def test_a_run_arrives_in_the_timeline_and_can_be_scrubbed(qtbot, window):
    panel = window.timeline_panel
    assert not panel.play_button.isEnabled()
    generate(qtbot, window)
    run = panel.current_run()
    assert len(run.record.frames) == 6 and panel.slider.maximum() == 5
    assert panel.index == 5 and panel.filmstrip.count() == 6
    assert panel.step_label.text().startswith("step 6/6")
    panel.slider.setFocus()
    QTest.keyClick(panel.slider, Qt.Key.Key_Left)
    QTest.keyClick(panel.slider, Qt.Key.Key_Left)
    assert panel.index == 3 and panel.filmstrip.currentRow() == 3
    assert panel.sigma_plot.current == 3 and "step 4/6" in panel.step_label.text()
    point = panel.sigma_plot.point(1).toPoint()
    QTest.mouseClick(panel.sigma_plot, Qt.MouseButton.LeftButton, pos=point)
    assert panel.index == 1 and panel.slider.value() == 1
    QTest.mouseClick(panel.change_plot, Qt.MouseButton.LeftButton, pos=QPoint(2, 40))
    assert panel.index == 0
    sigmas = panel.sigma_plot.values
    assert sigmas == sorted(sigmas, reverse=True) and len(sigmas) == 6


def test_views_show_different_pictures(qtbot, window):
    from studio.ui.canvas.qimage import array_from_qimage

    generate(qtbot, window)
    panel = window.timeline_panel
    panel.set_step(2)
    pictures = {}
    for row in range(panel.view_combo.count()):
        panel.view_combo.setCurrentIndex(row)
        pictures[panel.view()] = array_from_qimage(panel.image.pixmap.toImage())
    assert set(pictures) == {"xt", "x0", "delta", "noise"}
    keys = list(pictures)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            assert (pictures[a] != pictures[b]).any(), (a, b)


def test_play_advances_and_wraps(qtbot, window):
    generate(qtbot, window)
    panel = window.timeline_panel
    panel.speed_spin.setValue(30)
    panel.play_button.click()
    assert panel.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: panel.index == 0, timeout=3000)  # wrapped around from the last
    qtbot.waitUntil(lambda: panel.index == 2, timeout=3000)
    panel.play_button.click()
    assert panel.play_button.text() == "Play" and not panel._timer.isActive()


def test_promote_a_step_to_a_layer_and_undo(qtbot, window):
    generate(qtbot, window)
    panel = window.timeline_panel
    layers = len(window.document.layers)
    panel.set_step(2)
    panel.view_combo.setCurrentIndex(panel.view_combo.findData("xt"))
    panel.promote_button.click()
    assert len(window.document.layers) == layers + 1
    layer = window.document.layers[-1]
    assert layer.name.startswith("Step 3/6 (x_t)") and layer.draft
    assert layer.metadata["promoted_step"] == 3 and (layer.width, layer.height) == (64, 64)
    window.document.undo_stack.undo()
    assert len(window.document.layers) == layers


def test_decode_a_step_in_full_on_the_worker(qtbot, window):
    generate(qtbot, window)
    panel = window.timeline_panel
    panel.set_step(5)
    with qtbot.waitSignal(window.run_history.step_decoded, timeout=30000):
        panel.decode_button.click()
    run = panel.current_run()
    assert run.decoded[5].shape == (64, 64, 3)
    assert "decoded" in panel.step_label.text()
    panel.promote_button.click()
    assert window.document.layers[-1].name.startswith("Step 6/6 (decoded)")


def test_export_with_progress(qtbot, window, tmp_path):
    generate(qtbot, window)
    panel = window.timeline_panel
    seen = []
    window.run_exporter.progressed.connect(lambda d, t: seen.append((d, t)))
    with qtbot.waitSignal(window.run_exporter.finished, timeout=10000):
        assert panel.export_to(str(tmp_path / "run.webp"))
        assert panel.export_progress.isVisible() and not panel.export_button.isEnabled()
    assert seen[-1] == (6, 6)
    assert not panel.export_progress.isVisible() and panel.export_button.isEnabled()
    with Image.open(tmp_path / "run.webp") as image:
        assert image.n_frames == 6 and image.size == (64, 64)
    with qtbot.waitSignal(window.run_exporter.failed, timeout=10000):
        panel.export_to(str(tmp_path / "run.avi"))
    assert "'.avi'" in window.banner.message


def test_preferences_cap_reaches_the_request(qtbot, window):
    window.settings_store.setValue("timeline/record_mb", 0)
    window.preferences_changed()
    assert window.session.build_request()[0].record_cap_bytes == 0
    generate(qtbot, window)
    panel = window.timeline_panel
    assert not any(f.has_full for f in panel.current_run().record.frames)
    assert "thumbnail only" in panel.step_label.text()
    panel.decode_button.click()
    assert "dropped" in window.banner.message


class StopAt(DiffusionEngine):
    """The real engine, with the artist pressing Cancel once step `stop_at` has been shown."""

    def __init__(self, stop_at: int) -> None:
        super().__init__()
        self.stop_at = stop_at

    def run(self, request, on_step, cancel):
        def watch(preview):
            on_step(preview)
            if self.stop_at and preview.step == self.stop_at:
                self.stop_at = 0  # only the first run
                cancel.set()

        return super().run(request, watch, cancel)


def test_continue_a_stopped_run_gives_the_full_runs_image(qtbot, tmp_path, tiny_sd_path):
    win = timeline_window(qtbot, tmp_path, tiny_sd_path, StopAt(3), sampler="Euler a")
    try:
        generate(qtbot, win)
        panel = win.timeline_panel
        run = panel.current_run()
        assert run.draft and len(run.record.frames) == 3
        assert not panel.continue_button.isHidden()
        layers = len(win.document.layers)
        panel.continue_button.click()
        qtbot.waitUntil(lambda: len(win.document.layers) == layers + 1, timeout=30000)
        layer = win.document.layers[-1]
        assert layer.name.startswith("Continued: ") and not layer.draft
        assert layer.metadata["resumed_from_step"] == 3
        whole = DiffusionEngine().run(run.request, lambda _p: None, threading.Event())
        assert np.array_equal(layer.pixels[:, :, :3], whole.image)
        assert win.timeline_panel.current_run().record.frames[0].step == 4
    finally:
        win.close()


def test_kept_runs_together_stay_within_the_cap(qtbot, window):
    generate(qtbot, window)
    one_run = window.run_history.full_bytes()
    window.settings_store.setValue("timeline/record_mb", 1)
    window.preferences_changed()
    window.run_history.cap_bytes = int(one_run * 1.5)  # room for one and a half runs
    generate(qtbot, window)
    first, second = window.run_history.runs
    assert all(f.has_full for f in second.record.frames)
    kept = [f.has_full for f in first.record.frames]
    assert kept == [False] * 3 + [True] * 3 and first.record.dropped == 3
    assert window.run_history.full_bytes() <= window.run_history.cap_bytes
    panel = window.timeline_panel
    panel.run_combo.setCurrentIndex(0)
    panel.set_step(0)
    assert "thumbnail only" in panel.step_label.text()


def test_decode_with_the_runs_tiny_decoder(qtbot, window, tmp_path):
    import torch
    from diffusers import AutoencoderTiny

    torch.manual_seed(0)
    AutoencoderTiny().save_pretrained(str(tmp_path / "taesd"))
    window.prompt_panel.store(window.session.settings)
    window.session.settings.preview_decoder = str(tmp_path / "taesd")
    request = window.session.build_request()[0]
    assert request.preview_decoder == str(tmp_path / "taesd")
    window.jobs.submit(request, "with TAESD previews", None)
    qtbot.waitUntil(lambda: len(window.run_history.runs) == 1, timeout=30000)
    qtbot.waitUntil(lambda: not window.run_history.runs[0].live, timeout=30000)
    panel = window.timeline_panel
    assert panel.decoder_combo.count() == 2
    panel.decoder_combo.setCurrentIndex(1)
    panel.set_step(2)
    with qtbot.waitSignal(window.run_history.step_decoded, timeout=30000):
        panel.decode_button.click()
    tiny = panel.current_run().decoded[2]
    panel.decoder_combo.setCurrentIndex(0)
    run = panel.current_run()
    run.decoded.clear()
    with qtbot.waitSignal(window.run_history.step_decoded, timeout=30000):
        panel.decode_button.click()
    assert tiny.shape == run.decoded[2].shape == (64, 64, 3)
    assert not np.array_equal(tiny, run.decoded[2])  # two different decoders
