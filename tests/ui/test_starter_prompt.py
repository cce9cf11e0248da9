"""The Generate dock with the starter diffusion: ignored prompt words shown, a real run."""

from __future__ import annotations

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from studio.engine.router import EngineRouter
from studio.engine.starter.model import build_unet, save_starter, tiny_config
from tests.ui.conftest import press_generate


@pytest.fixture(scope="module")
def starter_path(tmp_path_factory):
    torch.manual_seed(0)
    cfg = tiny_config()
    folder = tmp_path_factory.mktemp("ui-starter") / "starter-diffusion"
    save_starter(folder, build_unet(cfg), cfg, "# Tiny\n", fp16=False)
    return folder


def test_ignored_words_show_under_the_prompt_for_a_starter(
    make_window, qtbot, starter_path, tiny_sd_path
):
    window = make_window(engine=EngineRouter(diffusion=object()), models=starter_path)
    panel = window.prompt_panel
    assert "Starter" in panel.model_combo.currentText()
    assert panel.cfg_spin.value() == 3.0  # the starter's CFG, not SD's 7
    paint = panel.paint_options  # it reads the labels itself: no ControlNet rows
    assert paint.refine_box.title() == "Picture from the labels"
    assert paint.controlnet_combo.isHidden() and paint.scale_spin.isHidden()
    assert "no ControlNet needed" in paint.refine_hint.text()
    panel.prompt_edit.setFocus()
    QTest.keyClicks(panel.prompt_edit, "snowy mountains with a dragon")
    assert panel.ignored_label.isVisible()
    assert panel.ignored_label.text() == "Not understood by the starter model: dragon"
    panel.prompt_edit.setPlainText("snowy mountains at sunset")
    assert not panel.ignored_label.isVisible()
    panel.prompt_edit.setPlainText("a dragon")
    assert panel.ignored_label.isVisible()

    panel.steps_spin.setValue(3)
    with qtbot.waitSignal(window.session.result_added, timeout=20000):
        press_generate(qtbot, window)
    layer = window.document.layers[-1]
    assert layer.metadata["ignored_words"] == ["dragon"]
    assert layer.metadata["model_family"] == "starter"
    assert layer.metadata["guidance_scale"] == 3.0

    window.session.open_model_folder(str(tiny_sd_path))  # an SD model: no such line
    window.prompt_panel.load(window.session.settings)
    assert "Starter" not in panel.model_combo.currentText()
    assert panel.cfg_spin.value() == 7.0
    assert not paint.controlnet_combo.isHidden() and "ADE20K" in paint.refine_hint.text()
    assert not panel.ignored_label.isVisible()
    QTest.keyClick(panel.prompt_edit, Qt.Key.Key_Space)
    assert not panel.ignored_label.isVisible()
