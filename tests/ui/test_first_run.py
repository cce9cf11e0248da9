"""First run on the starter models: the banner above the canvas, and the live draft's default."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

from studio.engine.router import EngineRouter
from studio.session.settings import LIVE_DRAFT_ENABLED, LIVE_DRAFT_MODEL, stored_flag
from tests.starter_models import save_tiny_spade, save_tiny_starter_diffusion


@pytest.fixture(scope="module")
def starter_dir(tmp_path_factory):
    """A models folder like the shipped one: the starter diffusion only."""
    base = tmp_path_factory.mktemp("starters")
    save_tiny_starter_diffusion(base / "starter-diffusion")
    return base


@pytest.fixture(scope="module")
def spade_dir(tmp_path_factory):
    """Two SPADEs: the starter, and another one that sorts first ("aaa-mine")."""
    base = tmp_path_factory.mktemp("spades")
    starter = save_tiny_spade(base / "starter-spade")
    mine = save_tiny_spade(base / "aaa-mine", starter=False, seed=1)
    mine = mine.rename(mine.with_name("aaa-mine.safetensors"))
    (base / "aaa-mine" / "starter-spade.json").rename(mine.with_suffix(".json"))
    return base, starter, mine


def search(monkeypatch, *dirs) -> None:
    monkeypatch.setenv("STUDIO_MODELS_PATH", os.pathsep.join(str(d) for d in dirs))


def click(button) -> None:
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_banner_says_what_the_starters_do_and_opens_the_model_manager(
    make_window, qtbot, monkeypatch, starter_dir
):
    search(monkeypatch, starter_dir)
    window = make_window()
    banner = window.first_run_banner
    assert banner.isVisible()
    text = banner.message
    assert "starter models" in text and "Paint" in text and "Inpaint" in text
    assert all(word in text for word in ("sunset", "night", "winter", "foggy"))
    assert "32×32" in text  # the tiny starter's own size, read from its config
    assert "draft live" not in text  # no starter SPADE in this folder
    assert "Starter" in window.prompt_panel.model_combo.currentText()  # selected by default
    click(banner.manager_button)
    assert window.model_manager is not None and window.model_manager.isVisible()
    assert banner.isVisible()  # still there to come back to
    window.model_manager.close()


def test_closing_hides_it_until_the_next_start_dont_show_again_for_good(
    make_window, qtbot, monkeypatch, starter_dir
):
    search(monkeypatch, starter_dir)
    first = make_window()
    click(first.first_run_banner.close_button)
    assert not first.first_run_banner.isVisible()
    first.refresh_all_models()  # F5: a rescan does not bring it back
    assert not first.first_run_banner.isVisible()
    first.close()
    second = make_window()  # same settings file: the next start
    assert second.first_run_banner.isVisible()
    click(second.first_run_banner.never_button)
    assert not second.first_run_banner.isVisible()
    second.close()
    assert not make_window().first_run_banner.isVisible()
    assert make_window(settings_name="fresh.ini").first_run_banner.isVisible()


def test_no_banner_with_a_model_of_the_artists_own(
    make_window, qtbot, monkeypatch, starter_dir, tiny_sd_path
):
    search(monkeypatch, starter_dir, tiny_sd_path.parent)
    assert not make_window().first_run_banner.isVisible()
    search(monkeypatch, starter_dir)
    window = make_window(settings_name="other.ini")
    assert window.first_run_banner.isVisible()
    window.session.open_model_folder(str(tiny_sd_path))  # one arrives while Studio runs
    assert not window.first_run_banner.isVisible()


def test_no_banner_and_no_starter_words_without_starter_models(make_window, qtbot, monkeypatch):
    search(monkeypatch)
    window = make_window()
    assert not window.first_run_banner.isVisible()
    assert "No model installed" in window.canvas._placeholder


def test_the_starter_spade_drafts_by_default_and_the_artists_choices_are_kept(
    make_window, qtbot, monkeypatch, starter_dir, spade_dir
):
    base, starter, mine = spade_dir
    search(monkeypatch, starter_dir, base)
    window = make_window(engine=EngineRouter(diffusion=object()))
    live, panel = window.live_draft, window.live_panel
    assert panel.model_combo.currentData() == str(starter)  # not the first in the list
    assert "starter" in panel.model_combo.currentText()
    assert panel.enable_check.isChecked() and live.enabled and live.model_path == str(starter)
    assert not window.first_run_banner.isVisible()  # aaa-mine is the artist's own model

    window.prompt_panel.set_mode("paint")
    labels = window.document.add_label_layer()
    pixels = labels.pixels.copy()
    pixels[: pixels.shape[0] // 2] = 1  # sky over
    pixels[pixels.shape[0] // 2 :] = 11  # grass
    with qtbot.waitSignal(live.draft_shown, timeout=30000):
        window.document.replace_pixels(labels, pixels, "Paint")
    draft = next(la for la in window.document.layers if la.metadata.get("live_draft"))
    assert draft.pixels.shape[:2] == pixels.shape and np.ptp(draft.pixels[..., :3]) > 0

    panel.model_combo.setFocus()
    QTest.keyClick(panel.model_combo, Qt.Key.Key_Up)  # the artist picks the other one
    assert live.model_path == str(mine)
    click(panel.enable_check)  # and switches the draft off
    assert not live.enabled
    window.close()
    store = QSettings(window.settings_store.fileName(), QSettings.Format.IniFormat)
    assert store.value(LIVE_DRAFT_MODEL) == str(mine)
    again = make_window(engine=EngineRouter(diffusion=object()))
    assert again.live_panel.model_combo.currentData() == str(mine)
    assert not again.live_panel.enable_check.isChecked() and not again.live_draft.enabled
    click(again.live_panel.enable_check)
    assert again.live_draft.enabled and stored_flag(again.settings_store, LIVE_DRAFT_ENABLED)


def test_with_the_starter_spade_the_banner_mentions_the_live_draft(
    make_window, qtbot, monkeypatch, starter_dir, spade_dir
):
    search(monkeypatch, starter_dir, spade_dir[1].parent)  # the starter SPADE alone
    window = make_window()
    assert "draft live while you paint labels" in window.first_run_banner.message
    assert window.live_panel.enable_check.isChecked()


def test_without_a_spade_the_draft_is_off_and_cannot_be_switched_on(
    make_window, qtbot, monkeypatch, starter_dir
):
    search(monkeypatch, starter_dir)
    window = make_window()
    check = window.live_panel.enable_check
    assert not check.isEnabled() and not check.isChecked() and not window.live_draft.enabled
