"""The Generate dock's tabs driven like a user: inpaint under a mask, paint from labels, batches."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from studio.document.layers import Layer
from tests.fakes import FakeEngine
from tests.ui.conftest import press_generate

SIZE = 64


@pytest.fixture(scope="module")
def controlnet_dir(tiny_sd_path, tmp_path_factory):
    """A models folder holding a tiny segmentation ControlNet for the tiny SD model."""
    from studio.engine.testing.scaffold import save_controlnet_folder

    folder = tmp_path_factory.mktemp("extras")
    save_controlnet_folder(folder / "tiny-seg", tiny_sd_path)
    return folder


def picture(width=SIZE, height=SIZE) -> np.ndarray:
    """HxWx4: a gradient with texture, so a changed pixel is easy to spot."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:height, 0:width]
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[..., 0] = (x * 255 // max(1, width - 1)).astype(np.uint8)
    rgba[..., 1] = (y * 255 // max(1, height - 1)).astype(np.uint8)
    rgba[..., 2] = rng.integers(60, 120, (height, width))
    rgba[..., 3] = 255
    return rgba


def real_window(make_window, tiny_sd_path):
    from studio.app.main import make_engine

    window = make_window(make_engine(), models=tiny_sd_path)
    window.new_document((SIZE, SIZE))
    window.session.settings.dtype = "float32"
    window.prompt_panel.steps_spin.setValue(3)
    window.prompt_panel.random_check.setChecked(False)
    window.prompt_panel.seed_edit.setText("11")
    return window


def with_picture(window) -> np.ndarray:
    doc = window.document
    doc.add_layer(Layer("photo", picture(doc.width, doc.height)))
    return doc.image_composite()[:, :, :3].copy()


def add_mask(window, box=(20, 20, 44, 40)) -> np.ndarray:
    x0, y0, x1, y1 = box
    pixels = np.zeros((window.document.height, window.document.width), np.uint8)
    pixels[y0:y1, x0:x1] = 255
    window.document.add_mask_layer("Mask", pixels)
    return pixels


def test_inpaint_tab_repaints_only_under_the_mask_as_one_undo_step(
    make_window, qtbot, tiny_sd_path
):
    window = real_window(make_window, tiny_sd_path)
    before = with_picture(window)
    mask = add_mask(window)
    panel = window.prompt_panel
    panel.set_mode("inpaint")
    assert panel.generate_button.text() == "Inpaint"
    panel.inpaint_options.blur_spin.setValue(4)
    panel.prompt_edit.setPlainText("a red door")
    count = len(window.document.layers)
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(window.document.layers) == count + 1, timeout=60000)
    result = window.document.layers[-1]
    assert result.name == "Inpaint: a red door"
    assert result.metadata["mode"] == "inpaint" and result.metadata["mask_blur"] == 4
    assert result.pixels.shape == (SIZE, SIZE, 4)  # pasted back into the canvas
    outside = mask == 0
    assert np.array_equal(result.pixels[outside][:, :3], before[outside])
    assert not np.array_equal(result.pixels[mask > 0][:, :3], before[mask > 0])
    mask_layer = window.document.layers[-2]
    assert mask_layer.kind == "mask" and not mask_layer.visible  # the result is seen untinted
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(window.document.layers) == count and mask_layer.visible


def test_rerun_exactly_of_an_inpaint_uses_the_pictures_it_was_made_from(
    make_window, qtbot, tiny_sd_path
):
    window = real_window(make_window, tiny_sd_path)
    with_picture(window)
    add_mask(window)
    window.prompt_panel.set_mode("inpaint")
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: "request" in window.document.layers[-1].metadata, timeout=60000)
    first = window.document.layers[-1]
    window.document.layers[1].writable_pixels()[:] = 0  # the picture changes afterwards
    assert window.session.rerun_exactly(first) is not None, window.banner.message
    qtbot.waitUntil(lambda: window.document.layers[-1].name.startswith("Re-run"), timeout=60000)
    assert np.array_equal(window.document.layers[-1].pixels, first.pixels)
    count = len(window.document.layers)
    press_generate(qtbot, window)  # the hidden mask is still the mask: inpaint again
    qtbot.waitUntil(lambda: len(window.document.layers) == count + 1, timeout=60000)
    assert window.document.layers[-1].metadata["mode"] == "inpaint"


def test_inpaint_without_a_mask_says_how_to_make_one_and_queues_nothing(
    make_window, qtbot, tiny_sd_path
):
    engine = FakeEngine()
    window = make_window(engine, models=tiny_sd_path)
    window.prompt_panel.set_mode("inpaint")
    press_generate(qtbot, window)
    assert "Inpainting needs a mask" in window.banner.message
    window.document.add_mask_layer("Mask")
    press_generate(qtbot, window)
    assert "is empty" in window.banner.message
    assert engine.runs == [] and not window.session.worker.is_busy()


def test_a_selection_is_the_mask_when_no_mask_layer_is_painted(make_window, qtbot, tiny_sd_path):
    engine = FakeEngine()
    window = make_window(engine, models=tiny_sd_path)
    selection = np.zeros((window.document.height, window.document.width), bool)
    selection[5:15, 30:50] = True
    window.document.set_selection(selection)
    window.prompt_panel.set_mode("inpaint")
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(engine.runs) == 1, timeout=5000)
    request = engine.runs[0]
    assert request.mode == "inpaint"
    assert np.array_equal(request.mask > 0, selection)


def test_paint_tab_renders_labels_through_the_controlnet_fitted_to_the_canvas(
    make_window, qtbot, tiny_sd_path, controlnet_dir, monkeypatch
):
    monkeypatch.setenv("STUDIO_MODELS_PATH", str(controlnet_dir))
    window = real_window(make_window, tiny_sd_path)
    window.new_document((96, 48))  # not square, not the work size
    window.refresh_all_models()
    panel = window.prompt_panel
    panel.set_mode("paint")
    assert panel.paint_options.controlnet_combo.currentText().startswith("tiny-seg")
    labels = window.document.add_label_layer()  # Landscape palette
    sky = next(e.value for e in labels.palette.entries if e.name == "sky")
    grass = next(e.value for e in labels.palette.entries if e.name == "grass")
    pixels = np.full((48, 96), grass, np.uint16)
    pixels[:20] = sky
    window.document.replace_pixels(labels, pixels, "Paint labels")
    panel.prompt_edit.setPlainText("a meadow")
    count = len(window.document.layers)
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(window.document.layers) == count + 1, timeout=60000)
    result = window.document.layers[-1]
    assert result.name == "Paint: a meadow"
    assert result.metadata["mode"] == "semantic"
    assert result.pixels.shape == (48, 96, 4)  # made at the work size, fitted to the canvas
    request = result.metadata["request"]
    assert (request["width"], request["height"]) == (128, 64)  # the canvas's 2:1 aspect
    sent = result.sources["label_map"]
    assert sent[0, 0] == 3 and sent[-1, -1] == 10  # ADE20K sky (2) and grass (9), plus one


def test_paint_tab_can_refine_the_canvas_the_live_draft_is_on(
    make_window, qtbot, tiny_sd_path, controlnet_dir, monkeypatch
):
    monkeypatch.setenv("STUDIO_MODELS_PATH", str(controlnet_dir))
    window = real_window(make_window, tiny_sd_path)
    window.refresh_all_models()
    before = with_picture(window)  # stands in for the SPADE draft under the labels
    labels = window.document.add_label_layer()
    window.document.replace_pixels(labels, np.full_like(labels.pixels, 1), "Paint labels")
    panel = window.prompt_panel
    panel.set_mode("paint")
    panel.paint_options.from_canvas_check.setChecked(True)
    panel.paint_options.strength.set_value(0.5)
    count = len(window.document.layers)
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(window.document.layers) == count + 1, timeout=60000)
    result = window.document.layers[-1]
    assert result.metadata["request"]["strength"] == 0.5
    assert result.metadata["pipeline"] == "StableDiffusionControlNetImg2ImgPipeline"
    assert np.array_equal(result.sources["init_image"], before)  # labels are not in the start


def test_paint_tab_without_a_controlnet_names_what_to_install(make_window, qtbot, tiny_sd_path):
    engine = FakeEngine()
    window = make_window(engine, models=tiny_sd_path)
    window.prompt_panel.set_mode("paint")
    press_generate(qtbot, window)
    assert "no label layer" in window.banner.message.lower()
    layer = window.document.add_label_layer()
    window.document.replace_pixels(layer, np.ones_like(layer.pixels), "Paint labels")
    press_generate(qtbot, window)
    assert "segmentation ControlNet" in window.banner.message
    assert engine.runs == []


def test_a_batch_lands_every_image_as_a_layer_in_one_undo_step(make_window, qtbot, tiny_sd_path):
    window = real_window(make_window, tiny_sd_path)
    panel = window.prompt_panel
    panel.more_options.set_expanded(True)
    panel.more_options.count_spin.setValue(2)
    panel.prompt_edit.setPlainText("twins")
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(window.document.layers) == 3, timeout=60000)
    first, second = window.document.layers[-1], window.document.layers[-2]
    assert first.name == "Prompt: twins (1/2)" and first.visible
    assert second.name == "Prompt: twins (2/2)" and not second.visible
    assert not np.array_equal(first.pixels, second.pixels)  # seeds 11 and 12
    assert (first.metadata["seed"], second.metadata["seed"]) == (11, 12)
    second_pixels = second.pixels.copy()
    assert window.session.rerun_exactly(second) is not None  # just that image, bit for bit
    qtbot.waitUntil(lambda: len(window.document.layers) == 4, timeout=60000)
    again = window.document.layers[-1]
    assert again.name == "Re-run: twins" and np.array_equal(again.pixels, second_pixels)
    for _ in range(2):
        QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(window.document.layers) == 1


def test_more_options_reach_the_request(make_window, qtbot, tiny_sd_path):
    engine = FakeEngine()
    window = make_window(engine, models=tiny_sd_path)
    more = window.prompt_panel.more_options
    more.set_expanded(True)
    more.size_spin.setValue(2)
    more.variation_check.setChecked(True)
    more.variation_edit.setText("77")
    more.variation_strength.set_value(0.3)
    more.preview_combo.setCurrentIndex(more.preview_combo.findData("vae"))
    more.few_step_combo.setCurrentIndex(more.few_step_combo.findData("lcm"))
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(engine.runs) == 1, timeout=5000)
    r = engine.runs[0]
    assert (r.batch_size, r.variation_seed, r.variation_strength) == (2, 77, 0.3)
    assert (r.preview_decoder, r.few_step) == ("vae", "lcm")


def test_translate_tab_translates_with_the_generate_button(
    make_window, qtbot, tmp_path, monkeypatch
):
    import torch

    from studio.app.main import make_engine
    from tests.engine.gan.reference_pix2pix import RefResnetGenerator

    torch.manual_seed(0)
    torch.save(RefResnetGenerator(ngf=2, n_blocks=1).state_dict(), tmp_path / "tiny_net_G.pth")
    monkeypatch.setenv("STUDIO_MODELS_PATH", str(tmp_path))
    window = make_window(make_engine())
    with_picture(window)
    window.refresh_all_models()
    panel = window.prompt_panel
    panel.set_mode("translate")
    assert panel.generate_button.text() == "Translate"
    assert not panel.common.isVisible()  # no prompt, sampler or size for a translation
    count = len(window.document.layers)
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: len(window.document.layers) == count + 1, timeout=30000)
    assert window.document.layers[-1].name == "Translated photo"


def test_every_tab_setting_survives_a_restart(make_window, qtbot, tiny_sd_path):
    window = make_window(models=tiny_sd_path, settings_name="restart.ini")
    panel = window.prompt_panel
    panel.set_mode("inpaint")
    panel.inpaint_options.blur_spin.setValue(11)
    panel.inpaint_options.content_combo.setCurrentIndex(2)  # latent noise
    panel.inpaint_options.only_masked_check.setChecked(False)
    panel.more_options.count_spin.setValue(3)
    window.close()
    again = make_window(models=tiny_sd_path, settings_name="restart.ini")
    p = again.prompt_panel
    assert p.mode() == "inpaint" and p.generate_button.text() == "Inpaint"
    assert p.inpaint_options.blur_spin.value() == 11
    assert p.inpaint_options.content_combo.currentData() == "latent noise"
    assert not p.inpaint_options.only_masked_check.isChecked()
    assert p.more_options.count_spin.value() == 3 and p.more_options.body.isVisible()


def test_outpainting_extends_the_canvas_and_fills_the_new_band(make_window, qtbot, tiny_sd_path):
    window = real_window(make_window, tiny_sd_path)
    before = with_picture(window)
    doc = window.document
    window.extend_for_outpainting((0, 0, 32, 16))  # right and bottom
    assert (doc.width, doc.height) == (SIZE + 32, SIZE + 16)
    band = doc.layers[-1]
    assert band.name == "Outpaint band" and band.kind == "mask"
    assert band.pixels[: SIZE - 8, : SIZE - 8].max() == 0  # 8 px overlap into the old picture
    assert band.pixels[:, SIZE:].min() == 255 and band.pixels[SIZE:, :].min() == 255
    assert window.prompt_panel.mode() == "inpaint"
    press_generate(qtbot, window)
    qtbot.waitUntil(lambda: doc.layers[-1].name.startswith("Inpaint"), timeout=60000)
    result = doc.layers[-1].pixels
    assert result.shape == (SIZE + 16, SIZE + 32, 4)
    assert np.array_equal(result[: SIZE - 8, : SIZE - 8, :3], before[: SIZE - 8, : SIZE - 8])
    new = result[SIZE:, :, :3].reshape(-1, 3).astype(int)
    assert new.std(axis=0).max() > 0 and new.mean() > 10  # repainted, not a black border
    sent = doc.layers[-1].sources["init_image"]  # the band started from the edge colours
    assert np.array_equal(sent[SIZE + 10, 5], before[SIZE - 1, 5])


def test_extending_the_canvas_is_one_undo_step_and_restores_every_layer(qapp):
    from studio.document.document import Document

    doc = Document(20, 10)
    doc.add_layer(Layer("photo", picture(20, 10)))
    labels = doc.add_label_layer()
    labels.pixels[:] = 3
    originals = [layer.pixels.copy() for layer in doc.layers]
    doc.extend_for_outpainting(8, 4, 0, 0, overlap=2)
    assert (doc.width, doc.height) == (28, 14)
    assert all(layer.pixels.shape[:2] == (14, 28) for layer in doc.layers)
    assert doc.layers[1].pixels[:4, :, 3].max() == 0  # the new band is transparent
    doc.undo_stack.undo()
    assert (doc.width, doc.height) == (20, 10) and len(doc.layers) == 3
    for layer, original in zip(doc.layers, originals, strict=True):
        assert np.array_equal(layer.pixels, original)
    doc.undo_stack.redo()
    assert doc.layers[-1].name == "Outpaint band" and doc.layers[2].pixels[4:, 8:].min() == 3


def test_model_settings_override_what_the_weights_cannot_tell(make_window, tiny_sd_path):
    from studio.engine.models.settings import ModelSettings, model_settings

    window = make_window(models=tiny_sd_path)
    path = window.session.settings.model_path
    assert not window.session.models[0].has("turbo")
    window.edit_model_settings(ModelSettings(few_step="turbo"))
    info = next(m for m in window.session.models if m.path == path)
    assert info.has("turbo") and model_settings(path).few_step == "turbo"
    assert any("turbo" in note.lower() for note in info.notes)
    tip = window.prompt_panel.model_combo.itemData(0, Qt.ItemDataRole.ToolTipRole)
    assert path in tip and "turbo" in tip.lower()
    window.edit_model_settings(ModelSettings())  # back to detection
    assert not next(m for m in window.session.models if m.path == path).has("turbo")


def test_one_click_conversion_of_a_pickled_checkpoint(make_window, qtbot, tmp_path):
    import torch
    from safetensors.torch import load_file

    from studio.app.main import make_engine
    from studio.engine.models.registry import ModelInfo
    from studio.engine.models.settings import ModelSettings
    from studio.ui.models.settings_dialog import ModelSettingsDialog

    ckpt = tmp_path / "old.ckpt"
    torch.save({"state_dict": {"w": torch.arange(6.0).reshape(2, 3)}}, ckpt)
    info = ModelInfo("old", str(ckpt), "sd-pipeline", "sd1", "single-file", 1)
    dialog = ModelSettingsDialog(info, ModelSettings())
    qtbot.addWidget(dialog)
    assert dialog.convert_button.text() == "Convert to .safetensors"  # offered for pickles
    window = make_window(make_engine())
    with qtbot.waitSignal(window.converter.converted, timeout=30000) as done:
        window.converter.convert(str(ckpt))
    original, converted = done.args
    assert original == str(ckpt) and converted.endswith("old.safetensors")
    assert torch.equal(load_file(converted)["w"], torch.arange(6.0).reshape(2, 3))
    assert "old.safetensors" in window.statusBar().currentMessage()
    with qtbot.waitSignal(window.converter.error_raised, timeout=30000) as refused:
        window.converter.convert(str(ckpt))  # the .safetensors exists now: not overwritten
    assert "already exists" in refused.args[0]


def test_jobs_queued_by_other_docks_show_progress_but_live_drafts_stay_quiet(make_window, qtbot):
    from studio.engine.requests import GenerationRequest

    engine = FakeEngine(steps=30, step_delay=0.03)
    window = make_window(engine)
    jobs = window.jobs
    request = GenerationRequest(model_path="x", prompt="", width=64, height=64)
    seen = []
    window.session.progress_changed.connect(lambda p: seen.append(p))
    jobs.submit(request, "Live draft", None, kind="live-draft", channel="live-draft")
    qtbot.waitUntil(lambda: len(engine.runs) == 1 and not jobs.busy(), timeout=10000)
    assert all(p is None for p in seen)  # a quiet background job
    jobs.submit(request, "Explore: Euler · 30 steps", None, kind="explore")  # another dock's
    qtbot.waitUntil(lambda: "step" in window.step_label.text(), timeout=10000)
    qtbot.waitUntil(lambda: not jobs.busy(), timeout=10000)
    qtbot.waitUntil(lambda: window.step_label.text() == "Idle", timeout=5000)
