"""The registry recognises diffusers folders by their files and explains what it rejects."""

import json

from studio.engine.registry import inspect_folder, scan


def test_tiny_folder_is_an_sd1_pipeline(tiny_sd_path):
    info = inspect_folder(tiny_sd_path)
    assert (info.kind, info.family, info.format) == ("sd-pipeline", "sd1", "diffusers")
    assert info.usable and info.size_bytes > 0


def test_scan_lists_models_and_says_why_others_cannot_run(tiny_sd_path, tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"x")
    sdxl = tmp_path / "xl"
    sdxl.mkdir()
    (sdxl / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionXLPipeline"}))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text("{not json")
    found = {m.name: m for m in scan([tiny_sd_path.parent, tmp_path, tmp_path / "absent"])}
    assert found["tiny-sd"].usable
    assert "not supported yet" in found["model.safetensors"].problem
    assert "StableDiffusionXLPipeline" in found["xl"].problem
    assert "Cannot read model_index.json" in found["broken"].problem


def test_sd2_is_told_apart_by_text_width(tiny_sd_path, tmp_path):
    import shutil

    copy = tmp_path / "sd2"
    shutil.copytree(tiny_sd_path, copy)
    cfg = json.loads((copy / "unet" / "config.json").read_text())
    cfg["cross_attention_dim"] = 1024
    (copy / "unet" / "config.json").write_text(json.dumps(cfg))
    assert inspect_folder(copy).family == "sd2"
