"""SD 2.x prediction type guessed from weights; the artist's per-model settings override it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from studio.engine.models.detect import V_PREDICTION_STD, guess_v_prediction
from studio.engine.models.registry import inspect_file, inspect_folder
from studio.engine.models.settings import (
    ModelSettings,
    model_settings,
    set_model_settings,
    sidecar_file,
)
from studio.errors import InvalidRequestError, ModelLoadError

UNET = "model.diffusion_model."
PROBE = UNET + "output_blocks.11.1.transformer_blocks.0.norm1.bias"


@pytest.fixture(autouse=True)
def own_user_data(tmp_path, monkeypatch):
    """Each test gets its own Studio user data (where model-settings.json lives)."""
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))


def spread_exactly(std: float, n: int = 320) -> torch.Tensor:
    """A bias vector whose population std is `std` (alternating +std, -std around 0.01)."""
    return torch.tensor([0.01 + std * (1 if i % 2 else -1) for i in range(n)])


def sd2_file(path, std, dtype=torch.float32, in_channels=4):
    """The keys that make an SD 2.x checkpoint, with the probe bias at the given spread."""
    state = {
        UNET + "input_blocks.0.0.weight": torch.zeros(8, in_channels, 3, 3),
        "cond_stage_model.model.token_embedding.weight": torch.zeros(3, 4),
        # an earlier attention block with a large spread: only the last one may count
        UNET + "output_blocks.5.1.transformer_blocks.0.norm1.bias": spread_exactly(0.5),
        PROBE: spread_exactly(std),
    }
    state = {k: v.to(dtype) for k, v in state.items()}
    if path.suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save({"state_dict": state}, str(path))
    return path


@pytest.mark.parametrize("suffix", [".safetensors", ".ckpt"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_sd2_prediction_type_is_guessed_from_either_side_of_the_threshold(tmp_path, suffix, dtype):
    above = inspect_file(sd2_file(tmp_path / f"above{suffix}", V_PREDICTION_STD + 0.002, dtype))
    below = inspect_file(sd2_file(tmp_path / f"below{suffix}", V_PREDICTION_STD - 0.002, dtype))
    assert (above.family, above.variant) == ("sd2", "v-prediction")
    assert (below.family, below.variant) == ("sd2", "")
    assert "guessed from the weights: v-prediction (spread 0.09" in above.notes[0]
    assert "guessed from the weights: epsilon (spread 0.08" in below.notes[0]


def test_the_guess_is_the_population_spread():
    assert guess_v_prediction(np.array([0.0, 0.2])) == (True, pytest.approx(0.1))
    assert guess_v_prediction(np.full(8, 3.0)) == (False, 0.0)


def test_inpainting_sd2_and_marked_files_are_not_guessed(tmp_path):
    inpaint = inspect_file(sd2_file(tmp_path / "inpaint.safetensors", 0.3, in_channels=9))
    assert inpaint.variant == "inpaint" and "epsilon prediction assumed" in inpaint.notes[0]
    marked = sd2_file(tmp_path / "sd21.safetensors", 0.01)
    (tmp_path / "sd21.yaml").write_text('model:\n  params:\n    parameterization: "v"\n')
    info = inspect_file(marked)
    assert info.variant == "v-prediction" and info.notes[0] == "v-prediction from sd21.yaml."
    folder_cfg = sd2_file(tmp_path / "own.safetensors", 0.3)
    (tmp_path / "own.config").mkdir()  # the artist's config folder decides; nothing guessed
    assert inspect_file(folder_cfg).variant == ""


def test_settings_override_the_guess_and_are_shown(tmp_path):
    path = sd2_file(tmp_path / "merge.safetensors", 0.2)
    assert inspect_file(path).has("v-prediction")
    set_model_settings(path, ModelSettings(prediction="epsilon", few_step="turbo"))
    info = inspect_file(path)
    assert info.variant == "turbo"
    assert "epsilon set in the model's settings." in info.notes
    assert "Few-step mode 'turbo' set in the model's settings." in info.notes
    assert not any("guessed" in note for note in info.notes)  # the guess did not run
    set_model_settings(path, ModelSettings())  # forget: back to the guess
    assert inspect_file(path).variant == "v-prediction"
    stored = json.loads((tmp_path / "home" / "model-settings.json").read_text())
    assert stored == {}


def test_sidecar_settings_travel_with_the_model_and_user_data_wins(tmp_path):
    path = sd2_file(tmp_path / "shared.safetensors", 0.01)
    sidecar_file(path).write_text(json.dumps({"prediction": "v", "few_step": "lcm"}))
    assert sidecar_file(path).name == "shared.safetensors.studio.json"
    assert model_settings(path) == ModelSettings("v", "lcm")
    assert inspect_file(path).variant == "v-prediction,lcm"
    set_model_settings(path, ModelSettings(few_step="off"))
    assert model_settings(path) == ModelSettings("v", "off")
    assert inspect_file(path).variant == "v-prediction"


def test_bad_settings_are_refused_with_the_value(tmp_path):
    with pytest.raises(InvalidRequestError, match="Prediction type must be one of.*'x'"):
        ModelSettings(prediction="x")
    with pytest.raises(InvalidRequestError, match="Few-step mode.*'fast'"):
        ModelSettings(few_step="fast")
    path = sd2_file(tmp_path / "m.safetensors", 0.01)
    sidecar_file(path).write_text(json.dumps({"prediction": "sample"}))
    with pytest.raises(ModelLoadError, match="m.safetensors.studio.json.*'sample'"):
        model_settings(path)


def test_single_files_say_turbo_cannot_be_seen(tiny_models):
    info = inspect_file(tiny_models.single_file("sd1"))
    assert any("Turbo/LCM cannot be told" in note for note in info.notes)
    assert inspect_folder(tiny_models.folder("sd1")).notes == ()


def test_settings_reach_the_scheduler_and_the_cache_notices(tiny_models, tmp_path):
    from studio.engine.diffusion.engine import DiffusionEngine
    from tests.engine.test_modes import req, run

    path = tmp_path / "sd2.safetensors"
    shutil.copy(tiny_models.single_file("sd2"), path)
    shutil.copytree(tiny_models.single_file("sd2").with_suffix(".config"), tmp_path / "sd2.config")
    engine = DiffusionEngine()
    plain, _ = run(engine, req(path))
    assert plain.recipe["scheduler_config"]["prediction_type"] == "epsilon"
    set_model_settings(path, ModelSettings(prediction="v", few_step="turbo"))
    v, _ = run(engine, req(path, num_inference_steps=1))
    assert v.recipe["scheduler_config"]["prediction_type"] == "v_prediction"
    assert v.recipe["model_variant"] == "v-prediction,turbo" and v.recipe["few_step"] == "turbo"
    assert v.recipe["scheduler_config"]["timestep_spacing"] == "trailing"
    set_model_settings(path, ModelSettings())
    again, _ = run(engine, req(path))
    assert np.array_equal(again.image, plain.image)


def test_a_v_prediction_marker_is_not_dropped_by_an_epsilon_config(tiny_models, tmp_path):
    """SDXL v-prediction files carry a `v_pred` key; the SDXL config says epsilon."""
    from safetensors.torch import load_file

    from studio.engine.diffusion.engine import DiffusionEngine
    from tests.engine.test_modes import req, run

    source = tiny_models.single_file("sdxl")
    state = load_file(str(source))
    state["v_pred"] = torch.tensor([])
    save_file(state, str(tmp_path / "xl-v.safetensors"))
    shutil.copytree(source.with_suffix(".config"), tmp_path / "xl-v.config")
    assert inspect_file(tmp_path / "xl-v.safetensors").variant == "v-prediction"
    result, _ = run(DiffusionEngine(), req(tmp_path / "xl-v.safetensors"))
    assert result.recipe["scheduler_config"]["prediction_type"] == "v_prediction"
