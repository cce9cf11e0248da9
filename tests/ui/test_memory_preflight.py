"""A job that would not fit is not started: the banner says why and offers jobs that fit."""

from __future__ import annotations

from dataclasses import replace

from studio.engine.memory.estimate import with_plan
from studio.engine.memory.presets import MemoryPlan
from studio.units import format_bytes
from tests.fakes import FakeEngine
from tests.ui.conftest import press_generate

ROOMY = (2**40, 2**41)  # (free, total): nothing is refused


def big_job_window(make_window, tiny_sd_path, engine):
    window = make_window(engine, models=tiny_sd_path)
    window.session.settings.device = "cpu"
    panel = window.prompt_panel
    panel.width_spin.setValue(512)
    panel.height_spin.setValue(512)
    panel.more_options.size_spin.setValue(4)
    panel.store(window.session.settings)
    return window


def free_for_tiled_only(session) -> int:
    """Free memory (bytes) in which the job fits with a tiled VAE but not as it is."""
    session.memory_probe = lambda device: ROOMY
    request, _ = session.build_request()
    tiled = with_plan(request, MemoryPlan(vae_tiling=True, vae_slicing=True))
    full = session.memory_verdict(request).estimate.total
    fits = session.memory_verdict(tiled).estimate.total
    free = int(fits / 0.9) + 2**20
    assert full > 0.9 * free  # as it is, the job does not fit in that
    return free


def test_a_job_that_would_not_fit_is_not_started_and_an_option_starts_it_changed(
    make_window, qtbot, tiny_sd_path
):
    engine = FakeEngine(steps=2)
    window = big_job_window(make_window, tiny_sd_path, engine)
    free = free_for_tiled_only(window.session)
    window.session.memory_probe = lambda device: (free, 16 * 2**30)
    press_generate(qtbot, window)
    banner = window.memory_banner
    qtbot.waitUntil(banner.isVisible)
    assert engine.runs == [] and not window.session.worker.is_busy()
    assert "This job needs about" in banner.message
    assert f"but only {format_bytes(free)} of memory is free" in banner.message
    texts = [b.text() for b in banner.option_buttons]
    assert any("tiled VAE" in t for t in texts) and texts[-1] == "Try anyway"
    assert all("(about " in t for t in texts[:-1])  # each option says what it needs
    assert not banner.details_view.isVisible()
    banner.details_button.click()
    assert banner.details_view.isVisible()
    assert "weights" in banner.details_view.toPlainText()

    tiled = next(b for b in banner.option_buttons if "tiled VAE" in b.text())
    tiled.click()
    qtbot.waitUntil(lambda: len(window.document.layers) == 2, timeout=5000)  # (a fake batch)
    assert not banner.isVisible()
    (ran,) = engine.runs
    assert ran.memory.vae_tiling and ran.memory.vae_slicing and ran.batch_size == 4


def test_smaller_size_option_lands_on_the_whole_canvas(make_window, qtbot, tiny_sd_path):
    engine = FakeEngine(steps=2)
    window = big_job_window(make_window, tiny_sd_path, engine)
    free = free_for_tiled_only(window.session)
    window.session.memory_probe = lambda device: (free, 16 * 2**30)
    press_generate(qtbot, window)
    qtbot.waitUntil(window.memory_banner.isVisible)
    button = next(b for b in window.memory_banner.option_buttons if "Lower the size" in b.text())
    button.click()
    qtbot.waitUntil(lambda: len(window.document.layers) == 2, timeout=5000)
    (ran,) = engine.runs
    assert ran.width < 512 and ran.batch_size == 4
    assert window.document.layers[-1].pixels.shape[:2] == (512, 512)  # fitted to the canvas


def test_try_anyway_dismiss_and_a_job_that_fits(make_window, qtbot, tiny_sd_path):
    engine = FakeEngine(steps=2)
    window = big_job_window(make_window, tiny_sd_path, engine)
    free = free_for_tiled_only(window.session)
    window.session.memory_probe = lambda device: (free, 16 * 2**30)
    banner = window.memory_banner
    press_generate(qtbot, window)
    qtbot.waitUntil(banner.isVisible)
    banner.close_button.click()  # dismissed: nothing starts
    assert not banner.isVisible() and window.session.run_memory_option(None) is None
    press_generate(qtbot, window)
    qtbot.waitUntil(banner.isVisible)
    banner.option_buttons[-1].click()  # Try anyway: the job exactly as asked
    qtbot.waitUntil(lambda: len(engine.runs) == 1, timeout=5000)
    assert engine.runs[0].memory == window.session.memory_settings
    qtbot.waitUntil(lambda: not window.session.worker.is_busy(), timeout=5000)
    window.session.memory_probe = lambda device: ROOMY
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(engine.runs) == 2, timeout=5000)
    assert not banner.isVisible()


def test_a_job_that_ran_with_safer_settings_is_told_in_the_banner(make_window, qtbot, tiny_sd_path):
    retry = "Ran out of memory; retried with tiled VAE and a batch of 1."
    engine = FakeEngine(steps=2, recipe_extra={"memory_retry": retry})
    window = make_window(engine, models=tiny_sd_path)
    press_generate(qtbot, window)
    qtbot.waitUntil(window.memory_banner.isVisible, timeout=5000)
    assert window.memory_banner.message == retry
    assert window.memory_banner.option_buttons == []
    assert not window.memory_banner.details_button.isEnabled()


def test_no_estimate_for_models_it_cannot_read(make_window, qtbot, tiny_sd_path, tmp_path):
    window = make_window(FakeEngine(steps=1), models=tiny_sd_path)
    session = window.session
    session.memory_probe = lambda device: (1, 16 * 2**30)  # nothing free at all
    request, _ = session.build_request()
    assert not session.memory_verdict(request).fits
    starter = tmp_path / "starter"
    starter.mkdir()
    (starter / "starter.json").write_text("{}")
    assert session.memory_verdict(replace(request, model_path=str(starter))) is None
