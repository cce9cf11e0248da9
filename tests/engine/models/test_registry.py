"""The registry recognises models by inspecting their files and explains what it rejects."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import save_file

from studio.engine.models.detect import detect
from studio.engine.models.registry import inspect_file, inspect_folder, scan

SD1_LORA_KEY = (
    "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight"
)


def test_tiny_folder_is_an_sd1_pipeline(tiny_sd_path):
    info = inspect_folder(tiny_sd_path)
    assert (info.kind, info.family, info.format) == ("sd-pipeline", "sd1", "diffusers")
    assert info.usable and info.size_bytes > 0 and info.variant == ""


@pytest.mark.parametrize(
    "family, inpaint, expected",
    [
        ("sd1", False, ("sd1", "")),
        ("sd1", True, ("sd1", "inpaint")),
        ("sd2", False, ("sd2", "")),
        ("sdxl", False, ("sdxl", "")),
        ("sdxl", True, ("sdxl", "inpaint")),
        ("sdxl-refiner", False, ("sdxl", "refiner")),
    ],
)
def test_folders_and_single_files_of_each_family(tiny_models, family, inpaint, expected):
    folder = inspect_folder(tiny_models.folder(family, inpaint))
    single = inspect_file(tiny_models.single_file(family, inpaint))
    for info in (folder, single):
        assert (info.kind, info.family, info.variant) == ("sd-pipeline", *expected)
        assert info.usable
    assert (folder.format, single.format) == ("diffusers", "single-file")


def test_names_do_not_matter_only_contents(tiny_models, tmp_path):
    misleading = tmp_path / "sdxl-turbo-inpainting-lora.safetensors"
    shutil.copy(tiny_models.single_file("sd1"), misleading)
    info = inspect_file(misleading)
    assert (info.kind, info.family, info.variant) == ("sd-pipeline", "sd1", "")


def test_pickled_checkpoint_is_read_weights_only(tiny_models):
    info = inspect_file(tiny_models.single_file("sd1", suffix=".ckpt"))
    assert (info.kind, info.family, info.format) == ("sd-pipeline", "sd1", "single-file")


@pytest.mark.parametrize(
    "keys, metadata, expected",
    [
        # SD 2.x: OpenCLIP text encoder under cond_stage_model.model; v-prediction from metadata
        (
            {
                "model.diffusion_model.input_blocks.0.0.weight": (320, 4, 3, 3),
                "cond_stage_model.model.token_embedding.weight": (49408, 1024),
            },
            {"modelspec.prediction_type": "v"},
            ("sd-pipeline", "sd2", "v-prediction"),
        ),
        (
            {
                "model.diffusion_model.input_blocks.0.0.weight": (320, 4, 3, 3),
                "cond_stage_model.model.token_embedding.weight": (49408, 1024),
                "v_pred": (),
            },
            {},
            ("sd-pipeline", "sd2", "v-prediction"),
        ),
        (
            {
                "model.diffusion_model.input_blocks.0.0.weight": (320, 9, 3, 3),
                "cond_stage_model.model.token_embedding.weight": (49408, 1024),
            },
            {},
            ("sd-pipeline", "sd2", "inpaint"),
        ),
        (
            {
                "model.diffusion_model.input_blocks.0.0.weight": (320, 4, 3, 3),
                "conditioner.embedders.0.transformer.text_model.x": (1,),
                "conditioner.embedders.1.model.positional_embedding": (77, 1280),
            },
            {"modelspec.title": "SDXL Turbo"},
            ("sd-pipeline", "sdxl", "turbo"),
        ),
        (
            {
                "control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (320, 768),
                "control_model.input_hint_block.0.weight": (16, 3, 3, 3),
            },
            {},
            ("controlnet", "sd1", ""),
        ),
        (
            {
                "controlnet_cond_embedding.conv_in.weight": (16, 3, 3, 3),
                "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight": (640, 2048),
            },
            {},
            ("controlnet", "sdxl", ""),
        ),
        (
            {
                SD1_LORA_KEY: (
                    4,
                    768,
                )
            },
            {},
            ("lora", "sd1", ""),
        ),
        (
            {
                "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_down.weight": (
                    4,
                    2048,
                ),
                "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": (4, 1280),
            },
            {},
            ("lora", "sdxl", ""),
        ),
        (
            {
                "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight": (
                    4,
                    1024,
                )
            },
            {},
            ("lora", "sd2", ""),
        ),
        (
            {"model.diffusion_model.input_blocks.0.0.weight": (320, 4, 3, 3)},
            {},
            ("unknown", "?", ""),
        ),
    ],
)
def test_detection_from_keys_and_shapes(keys, metadata, expected):
    found = detect(keys, metadata)
    assert (found.kind, found.family, found.variant) == expected
    assert (found.problem is None) == (found.kind != "unknown")


def taesd_original_shapes(decoder: bool, channels: int = 4) -> dict:
    """Key layout of madebyollin's taesd_{encoder,decoder}.pth (Sequential indices)."""
    if decoder:
        keys = {
            "1.weight": (64, channels, 3, 3),
            "1.bias": (64,),
            "3.conv.0.weight": (64, 64, 3, 3),
        }
        keys["19.weight"] = (3, 64, 3, 3)
    else:
        keys = {"0.weight": (64, 3, 3, 3), "1.conv.0.weight": (64, 64, 3, 3)}
        keys["14.weight"] = (channels, 64, 3, 3)
    return keys


def test_taesd_both_layouts_are_recognised(tmp_path):
    from diffusers import AutoencoderTiny

    folder = tmp_path / "taesd-diffusers"
    AutoencoderTiny(
        encoder_block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8)
    ).save_pretrained(folder)
    info = inspect_folder(folder)
    assert (info.kind, info.family, info.format) == ("taesd", "sd1|sdxl", "diffusers")
    state = {"decoder.layers.0.weight": torch.zeros(8, 4, 3, 3)}
    save_file(state, tmp_path / "tiny.safetensors")
    assert inspect_file(tmp_path / "tiny.safetensors").kind == "taesd"
    assert detect(taesd_original_shapes(True)).variant == "decoder"
    assert detect(taesd_original_shapes(False)).variant == "encoder"
    assert detect(taesd_original_shapes(True, 16)).family == "sd3|flux"


def test_scan_lists_every_kind_and_says_why_others_cannot_run(tiny_models, tmp_path):
    shutil.copy(tiny_models.single_file("sd1"), tmp_path / "checkpoint.safetensors")
    (tmp_path / "garbage.safetensors").write_bytes(b"x" * 20)
    save_file({"w": torch.zeros(2)}, tmp_path / "mystery.safetensors")
    save_file(
        {SD1_LORA_KEY: torch.zeros(4, 768)},
        tmp_path / "style.safetensors",
    )
    (tmp_path / "notes.txt").write_text("not a model")
    sdxl = tmp_path / "xl"
    sdxl.mkdir()
    (sdxl / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionXLPipeline"}))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text("{not json")
    everything = {m.name: m for m in scan([tmp_path, tmp_path / "absent"], kinds=None)}
    assert "notes.txt" not in everything
    assert everything["checkpoint.safetensors"].usable
    assert everything["style.safetensors"].kind == "lora"
    assert "not a readable .safetensors" in everything["garbage.safetensors"].problem
    assert everything["garbage.safetensors"].size_bytes == 20
    assert "not a model Studio knows" in everything["mystery.safetensors"].problem
    assert "missing parts: unet" in everything["xl"].problem
    assert "model_index.json is damaged" in everything["broken"].problem
    pipelines = {m.name for m in scan([tmp_path])}  # the default: pipelines plus problems
    assert "style.safetensors" not in pipelines and "checkpoint.safetensors" in pipelines


def test_sd2_is_told_apart_by_text_width(tiny_sd_path, tmp_path):
    copy = tmp_path / "sd2"
    shutil.copytree(tiny_sd_path, copy)
    cfg = json.loads((copy / "unet" / "config.json").read_text())
    cfg["cross_attention_dim"] = 1024
    (copy / "unet" / "config.json").write_text(json.dumps(cfg))
    sched = json.loads((copy / "scheduler" / "scheduler_config.json").read_text())
    sched["prediction_type"] = "v_prediction"
    (copy / "scheduler" / "scheduler_config.json").write_text(json.dumps(sched))
    info = inspect_folder(copy)
    assert (info.family, info.variant) == ("sd2", "v-prediction")


def test_sd2_v_prediction_from_an_a1111_yaml_next_to_the_file(tmp_path):
    state = {
        "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(2, 4, 3, 3),
        "cond_stage_model.model.token_embedding.weight": torch.zeros(3, 2),
    }
    save_file(state, tmp_path / "sd21.safetensors")
    assert inspect_file(tmp_path / "sd21.safetensors").variant == ""
    (tmp_path / "sd21.yaml").write_text('model:\n  params:\n    parameterization: "v"\n')
    assert inspect_file(tmp_path / "sd21.safetensors").variant == "v-prediction"


def test_a_gan_file_in_a_folder_of_its_name_is_found_and_its_starter_flag_read(
    tmp_path, tiny_sd_path
):
    from tests.starter_models import save_tiny_spade, save_tiny_starter_diffusion

    spade = save_tiny_spade(tmp_path / "starter-spade")  # starter-spade/starter-spade.*
    (spade.parent / "README.md").write_text("# card\n")
    other = save_tiny_spade(tmp_path / "mine", starter=False)  # mine/starter-spade.*: not NAME
    diffusion = save_tiny_starter_diffusion(tmp_path / "starter-diffusion")
    found = {m.path: m for m in scan([tmp_path], kinds=None)}
    assert set(found) == {str(spade), str(diffusion)}
    assert found[str(spade)].kind == "gan" and found[str(spade)].family == "spade"
    assert found[str(spade)].starter and found[str(diffusion)].starter
    moved = other.rename(other.with_name("mine.safetensors"))
    other.with_suffix(".json").rename(moved.with_suffix(".json"))
    info = {m.path: m for m in scan([tmp_path], kinds=None)}[str(moved)]
    assert info.usable and not info.starter  # no "starter": true in its sidecar
    assert not inspect_folder(tiny_sd_path).starter
