"""The Generate dock's Sample tab with a StyleGAN model: only the modes its family offers are
enabled, the tab shows the seed and sample controls (no prompt), and Generate puts the
picture NVIDIA's recipe gives for that seed on the canvas as a layer (through the session,
the family's build_request and the real worker)."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import QSettings

from studio.app.main import build_window
from studio.engine.router import EngineRouter
from studio.engine.stylegan.engine import to_uint8
from studio.ui.generate.prompt_panel import MODE_TABS
from tests.engine.stylegan.fixtures import TINY_KWARGS, random_generator, write_nvlabs_pickle


def test_sample_tab_generates_the_seeds_picture(qtbot, tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    net = random_generator(seed=3)
    pkl = write_nvlabs_pickle(models / "faces.pkl", net, TINY_KWARGS, tmp_path / "sentinel")
    monkeypatch.setenv("STUDIO_MODELS_PATH", str(models))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = build_window(EngineRouter(), settings)
    qtbot.addWidget(window)
    session = window.session
    try:
        session.refresh_models()
        panel = window.prompt_panel
        panel.model_combo.setCurrentIndex(panel.model_combo.findData(str(pkl)))
        enabled = {mode: panel.mode_bar.isTabEnabled(i) for i, (mode, *_) in enumerate(MODE_TABS)}
        assert enabled == {"prompt": False, "paint": False, "inpaint": False, "translate": True,
                           "sample": True}  # fmt: skip
        panel.set_mode("sample")
        assert panel.generate_button.text() == "Sample"
        assert panel.prompt_edit.isHidden() and not panel.seed_edit.isHidden()
        panel.random_check.setChecked(False)
        panel.seed_edit.setText("11")
        panel.sample_options.truncation_spin.setValue(0.6)
        panel.sample_options.noise_combo.setCurrentText("none")
        panel.store(session.settings)
        assert (session.settings.mode, session.settings.truncation) == ("sample", 0.6)
        layers = len(window.document.layers)
        with qtbot.waitSignal(session.result_added, timeout=20000):
            assert session.generate() is not None
        assert len(window.document.layers) == layers + 1
        layer = window.document.layers[-1]
        z = torch.from_numpy(np.random.RandomState(11).randn(1, 8))
        with torch.no_grad():
            expected = to_uint8(net(z, None, 0.6, "none"))
        h, w = expected.shape[:2]
        assert np.array_equal(layer.pixels[:h, :w, :3], expected), layer.pixels.shape
        assert layer.metadata["mode"] == "sample" and layer.metadata["seed"] == 11
        with qtbot.waitSignal(session.result_added, timeout=20000):  # Re-run exactly
            assert session.rerun_exactly(layer) is not None
        again = window.document.layers[-1]
        assert again is not layer and np.array_equal(again.pixels, layer.pixels)
    finally:
        window.close()
