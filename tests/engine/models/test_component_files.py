"""ControlNet original-layout single files and TAESD previews on SDXL, loaded offline."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from studio.engine.diffusion.engine import DiffusionEngine
from studio.engine.models.checkpoints import load_state_dict
from studio.engine.models.registry import inspect_file
from tests.engine.test_extras import labels
from tests.engine.test_modes import req, run


@pytest.fixture(scope="module")
def engine() -> DiffusionEngine:
    return DiffusionEngine()


@pytest.fixture(scope="module")
def controlnet_folder(tiny_models, tmp_path_factory):
    """A tiny seg ControlNet (from the tiny SD1 UNet, outputs made non-zero) as a folder."""
    from diffusers import ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(str(tiny_models.folder("sd1") / "unet"))
    torch.manual_seed(11)
    controlnet = ControlNetModel.from_unet(unet)
    with torch.no_grad():
        for p in controlnet.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    folder = tmp_path_factory.mktemp("cn-original") / "seg"
    controlnet.save_pretrained(str(folder))
    return folder


def original_layout_file(folder, out, prefix="control_model."):
    """The folder's ControlNet written in lllyasviel's key layout, with `<stem>.config/`."""
    from diffusers import ControlNetModel
    from safetensors.torch import save_file

    from studio.engine.testing.scaffold_ldm import controlnet_to_ldm

    state = controlnet_to_ldm(ControlNetModel.from_pretrained(str(folder)), prefix)
    if out.suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(out))
    else:
        torch.save({"state_dict": state}, str(out))
    (out.parent / f"{out.stem}.config").mkdir()
    shutil.copy(folder / "config.json", out.parent / f"{out.stem}.config" / "config.json")
    return out


@pytest.mark.parametrize(
    "name, prefix",
    [("seg.safetensors", "control_model."), ("seg.pth", "control_model."),
     ("bare.safetensors", "")],
)  # fmt: skip
def test_original_layout_controlnet_equals_the_folder(
    engine, tiny_models, controlnet_folder, tmp_path, name, prefix
):
    path = original_layout_file(controlnet_folder, tmp_path / name, prefix)
    keys = set(load_state_dict(path))
    assert f"{prefix}input_hint_block.14.weight" in keys and f"{prefix}zero_convs.0.0.bias" in keys
    assert not any(k.startswith(("controlnet_", "down_blocks.")) for k in keys)
    info = inspect_file(path)
    assert (info.kind, info.format, info.usable) == ("controlnet", "single-file", True)
    folder = tiny_models.folder("sd1")
    from_file, _ = run(
        engine, req(folder, label_map=labels(), controlnet_path=str(path), control_scale=0.9)
    )
    from_folder, _ = run(
        engine,
        req(folder, label_map=labels(), controlnet_path=str(controlnet_folder), control_scale=0.9),
    )
    assert from_file.recipe["pipeline"] == "StableDiffusionControlNetPipeline"
    assert np.array_equal(from_file.image, from_folder.image)
    assert (
        from_file.recipe["request"]["controlnet_sha256"]
        != (from_folder.recipe["request"]["controlnet_sha256"])
    )


def test_the_converted_controlnet_is_the_same_module(controlnet_folder, tmp_path):
    """Every tensor survives the round trip through the original layout, bit for bit."""
    from diffusers import ControlNetModel

    from studio.engine.diffusion.controlnet import load_controlnet

    path = original_layout_file(controlnet_folder, tmp_path / "cn.safetensors")
    ours = load_controlnet(str(path), "sd1", "cpu", "float32").state_dict()
    reference = ControlNetModel.from_pretrained(str(controlnet_folder)).state_dict()
    assert ours.keys() == reference.keys()
    assert all(torch.equal(ours[k], reference[k]) for k in reference)


@pytest.fixture(scope="module")
def taesd_files(tmp_path_factory):
    """A tiny TAESD as an AutoencoderTiny folder and as the original `taesdxl_decoder.pth`."""
    from diffusers import AutoencoderTiny

    root = tmp_path_factory.mktemp("taesdxl")
    torch.manual_seed(4)
    model = AutoencoderTiny()  # the real TAESD/TAESDXL architecture (1.2 M params a half)
    model.save_pretrained(str(root / "taesdxl"))
    original = {}
    for key, value in model.state_dict().items():
        if key.startswith("decoder.layers."):  # Sequential index + 1: index 0 is the clamp
            index, _, rest = key[len("decoder.layers.") :].partition(".")
            original[f"{int(index) + 1}.{rest}"] = value
    torch.save(original, str(root / "taesdxl_decoder.pth"))
    return root / "taesdxl", root / "taesdxl_decoder.pth", model


def test_taesd_previews_on_sdxl_from_either_layout(engine, tiny_models, taesd_files):
    """One Euler step: its x0 is the final latent, so the preview is TAESD's decode of it."""
    import diffusers

    from studio.engine.diffusion.samplers import make_scheduler

    folder_path, pth_path, model = taesd_files
    sdxl = tiny_models.folder("sdxl")
    previews = {}
    for path in (folder_path, pth_path):
        result, steps = run(engine, req(sdxl, num_inference_steps=1, preview_decoder=str(path)))
        assert result.recipe["previews"]["decodes"] == 1 and len(steps) == 1
        previews[path.name] = steps[0].image
    pipe = diffusers.StableDiffusionXLPipeline.from_pretrained(str(sdxl), local_files_only=True)
    pipe.scheduler = make_scheduler(pipe.scheduler.config, "Euler")
    pipe.set_progress_bar_config(disable=True)
    latents = pipe(
        prompt="a red barn in snow", negative_prompt="blurry", num_inference_steps=1,
        guidance_scale=5.0, width=64, height=64, output_type="latent",
        generator=torch.Generator("cpu").manual_seed(7),
    ).images  # fmt: skip
    with torch.no_grad():
        decoded = model.decode(latents).sample[0]  # 3x64x64 in [-1, 1]
    expected = ((decoded.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    assert previews["taesdxl"].shape == (64, 64, 3)
    assert np.array_equal(previews["taesdxl"], previews["taesdxl_decoder.pth"])
    assert np.abs(previews["taesdxl"].astype(int) - expected.astype(int)).max() <= 1
