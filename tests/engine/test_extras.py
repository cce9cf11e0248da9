"""ControlNet seg, SDXL refiner, LoRA, few-step models, TAESD previews, re-run, model cache."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from studio.engine.diffusion.engine import DiffusionEngine
from studio.errors import InvalidRequestError
from tests.engine.test_modes import picture_and_mask, plain, req, run


@pytest.fixture(scope="module")
def engine() -> DiffusionEngine:
    return DiffusionEngine()


@pytest.fixture(scope="module")
def controlnet_path(tiny_models, tmp_path_factory):
    from studio.engine.testing.scaffold import save_controlnet_folder

    folder = tmp_path_factory.mktemp("cn") / "tiny-seg"
    return save_controlnet_folder(folder, tiny_models.folder("sd1"))


def labels(size=64):
    out = np.zeros((size, size), np.uint16)
    out[: size // 2] = 3  # sky (ADE20K id 2)
    out[size // 2 :] = 5  # tree (ADE20K id 4)
    return out


def test_labels_render_to_ade20k_colours():
    from studio.engine.diffusion.controlnet import render_labels

    rgb = render_labels(labels(8), 16, 16)
    assert rgb.shape == (16, 16, 3)
    assert tuple(rgb[0, 0]) == (6, 230, 230) and tuple(rgb[-1, -1]) == (4, 200, 3)
    assert tuple(render_labels(np.zeros((2, 2), np.uint16), 2, 2)[0, 0]) == (0, 0, 0)


def test_semantic_generation_equals_plain_controlnet_pipeline(engine, tiny_models, controlnet_path):
    from diffusers import ControlNetModel
    from PIL import Image

    from studio.engine.diffusion.controlnet import render_labels

    folder = tiny_models.folder("sd1")
    request = req(
        folder, label_map=labels(), controlnet_path=str(controlnet_path), control_scale=0.8
    )
    ours, steps = run(engine, request)
    assert len(steps) == 3 and ours.recipe["pipeline"] == "StableDiffusionControlNetPipeline"
    controlnet = ControlNetModel.from_pretrained(str(controlnet_path))
    reference = plain(
        folder,
        "StableDiffusionControlNetPipeline",
        request,
        load={"controlnet": controlnet},
        image=Image.fromarray(render_labels(labels(), 64, 64)),
        controlnet_conditioning_scale=0.8,
    )
    assert np.array_equal(ours.image, reference)
    weaker, _ = run(
        engine,
        req(folder, label_map=labels(), controlnet_path=str(controlnet_path), control_scale=0.0),
    )
    assert not np.array_equal(weaker.image, ours.image)
    assert ours.recipe["request"]["label_map_sha256"] is not None


def test_refining_a_picture_from_labels_equals_plain_controlnet_img2img(
    engine, tiny_models, controlnet_path
):
    """Paint mode's refine pass: a draft (e.g. from SPADE) improved under the label map."""
    from diffusers import ControlNetModel
    from PIL import Image

    from studio.engine.diffusion.controlnet import render_labels

    folder = tiny_models.folder("sd1")
    draft, _mask = picture_and_mask(64)
    request = req(
        folder,
        label_map=labels(),
        controlnet_path=str(controlnet_path),
        init_image=draft,
        strength=0.7,
    )
    ours, steps = run(engine, request)
    assert ours.recipe["pipeline"] == "StableDiffusionControlNetImg2ImgPipeline"
    assert len(steps) == 2  # int(3 * 0.7): img2img skips the start of the schedule
    reference = plain(
        folder,
        "StableDiffusionControlNetImg2ImgPipeline",
        request,
        load={"controlnet": ControlNetModel.from_pretrained(str(controlnet_path))},
        image=Image.fromarray(draft),
        control_image=Image.fromarray(render_labels(labels(), 64, 64)),
        strength=0.7,
        controlnet_conditioning_scale=1.0,  # this pipeline's own default is 0.8
    )
    assert np.array_equal(ours.image, reference)
    from_noise, _ = run(
        engine, req(folder, label_map=labels(), controlnet_path=str(controlnet_path))
    )
    assert not np.array_equal(ours.image, from_noise.image)  # the draft matters


def test_controlnet_inpaint_repaints_only_the_masked_region(engine, tiny_models, controlnet_path):
    picture, mask = picture_and_mask()
    request = req(
        tiny_models.folder("sd1"),
        init_image=picture,
        mask=mask,
        strength=1.0,
        label_map=labels(96),
        controlnet_path=str(controlnet_path),
    )
    result, _ = run(engine, request)
    assert result.recipe["pipeline"] == "StableDiffusionControlNetInpaintPipeline"
    outside = mask < 128
    assert np.array_equal(result.image[outside], picture[outside])


def test_semantic_mode_needs_a_controlnet_of_the_right_kind(engine, tiny_models):
    with pytest.raises(InvalidRequestError, match="needs a ControlNet"):
        run(engine, req(tiny_models.folder("sd1"), label_map=labels()))
    with pytest.raises(InvalidRequestError, match="not a ControlNet"):
        run(
            engine,
            req(
                tiny_models.folder("sd1"),
                label_map=labels(),
                controlnet_path=str(tiny_models.single_file("sd1")),
            ),
        )


def test_sdxl_refiner_takes_over_and_matches_diffusers(engine, tiny_models):
    import diffusers

    from studio.engine.diffusion.samplers import make_scheduler

    base_dir, refiner_dir = tiny_models.folder("sdxl"), tiny_models.folder("sdxl-refiner")
    request = req(
        base_dir, num_inference_steps=5, refiner_path=str(refiner_dir), refiner_switch=0.6
    )
    ours, steps = run(engine, request)
    assert [p.step for p in steps] == [1, 2, 3, 4, 5]
    base = diffusers.StableDiffusionXLPipeline.from_pretrained(str(base_dir), local_files_only=True)
    refiner = diffusers.StableDiffusionXLImg2ImgPipeline.from_pretrained(
        str(refiner_dir), local_files_only=True
    )
    for pipe in (base, refiner):
        pipe.scheduler = make_scheduler(pipe.scheduler.config, "Euler")
        pipe.set_progress_bar_config(disable=True)
    generator = torch.Generator("cpu").manual_seed(7)
    common = dict(
        prompt=request.prompt,
        negative_prompt=request.negative_prompt,
        num_inference_steps=5,
        guidance_scale=5.0,
        generator=generator,
    )
    latents = base(**common, width=64, height=64, denoising_end=0.6, output_type="latent").images
    image = refiner(**common, image=latents, denoising_start=0.6, output_type="np").images[0]
    assert np.array_equal(ours.image, (image * 255).round().astype(np.uint8))
    assert ours.recipe["request"]["refiner_sha256"] is not None


def test_refiner_needs_sdxl(engine, tiny_models):
    with pytest.raises(InvalidRequestError, match="SDXL models only"):
        run(engine, req(tiny_models.folder("sd1"), refiner_path=str(tiny_models.folder("sdxl"))))


def make_lora(model_folder, out_folder, seed):
    from diffusers import StableDiffusionPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    pipe = StableDiffusionPipeline.from_pretrained(str(model_folder))
    torch.manual_seed(seed)
    config = LoraConfig(
        r=4, lora_alpha=4, init_lora_weights=False,
        target_modules=["to_k", "to_q", "to_v", "to_out.0"],
    )  # fmt: skip
    pipe.unet.add_adapter(config)
    StableDiffusionPipeline.save_lora_weights(
        str(out_folder), unet_lora_layers=get_peft_model_state_dict(pipe.unet),
        safe_serialization=True,
    )  # fmt: skip
    return out_folder / "pytorch_lora_weights.safetensors"


@pytest.fixture(scope="module")
def lora_file(tiny_models, tmp_path_factory):
    return make_lora(tiny_models.folder("sd1"), tmp_path_factory.mktemp("lora"), 5)


def test_loras_apply_with_weights_and_come_off_again(engine, tiny_models, lora_file):
    from studio.engine.models.registry import inspect_file

    assert inspect_file(lora_file).kind == "lora"
    folder = tiny_models.folder("sd1")
    without, _ = run(engine, req(folder))
    full, _ = run(engine, req(folder, loras=((str(lora_file), 1.0),)))
    half, _ = run(engine, req(folder, loras=((str(lora_file), 0.5),)))
    fused, _ = run(engine, req(folder, loras=((str(lora_file), 1.0),), fuse_loras=True))
    again, _ = run(engine, req(folder))
    assert not np.array_equal(without.image, full.image)
    assert not np.array_equal(full.image, half.image)
    assert np.abs(fused.image.astype(int) - full.image.astype(int)).max() <= 2
    assert np.array_equal(again.image, without.image)
    assert full.recipe["request"]["loras"][0]["weight"] == 1.0


def test_two_loras_at_once(engine, tiny_models, lora_file, tmp_path):
    other = make_lora(tiny_models.folder("sd1"), tmp_path, 6)
    folder = tiny_models.folder("sd1")
    first, _ = run(engine, req(folder, loras=((str(lora_file), 1.0),)))
    both, _ = run(engine, req(folder, loras=((str(lora_file), 1.0), (str(other), 0.7))))
    second_off, _ = run(engine, req(folder, loras=((str(lora_file), 1.0), (str(other), 0.0))))
    assert not np.array_equal(both.image, first.image)
    assert np.abs(second_off.image.astype(int) - first.image.astype(int)).max() <= 1
    assert [e["weight"] for e in both.recipe["request"]["loras"]] == [1.0, 0.7]
    run(engine, req(folder))  # leave the shared engine without adapters


def test_lora_of_another_family_is_refused(engine, tiny_models, tmp_path):
    from safetensors.torch import save_file

    key = "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight"
    save_file({key: torch.zeros(4, 1280)}, str(tmp_path / "xl-style.safetensors"))
    with pytest.raises(InvalidRequestError, match="made for sdxl models"):
        run(
            engine,
            req(tiny_models.folder("sd1"), loras=((str(tmp_path / "xl-style.safetensors"), 1.0),)),
        )


def test_turbo_models_get_trailing_steps_and_no_cfg(engine, tiny_models, tmp_path):
    turbo = tmp_path / "turbo"
    shutil.copytree(tiny_models.folder("sd1"), turbo)
    cfg_path = turbo / "scheduler" / "scheduler_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["timestep_spacing"] = "trailing"
    cfg_path.write_text(json.dumps(cfg))
    auto, _ = run(engine, req(turbo, num_inference_steps=1))
    assert auto.recipe["few_step"] == "turbo" and auto.recipe["guidance_scale_used"] == 0.0
    assert auto.recipe["scheduler_config"]["timestep_spacing"] == "trailing"
    explicit, _ = run(
        engine, req(tiny_models.folder("sd1"), num_inference_steps=1, few_step="turbo")
    )
    assert np.array_equal(auto.image, explicit.image)
    lcm, _ = run(engine, req(tiny_models.folder("sd1"), num_inference_steps=2, few_step="lcm"))
    assert lcm.recipe["scheduler"] == "LCMScheduler" and lcm.recipe["guidance_scale_used"] == 2.0


@pytest.fixture(scope="module")
def taesd_folder(tmp_path_factory):
    from diffusers import AutoencoderTiny

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("taesd") / "taesd"
    AutoencoderTiny().save_pretrained(str(folder))
    return folder


def test_taesd_previews_on_the_step_stream(engine, tiny_models, taesd_folder):
    result, steps = run(
        engine,
        req(tiny_models.folder("sd1"), num_inference_steps=4, preview_decoder=str(taesd_folder)),
    )
    assert [p.step for p in steps] == [1, 2, 3, 4]
    assert steps[0].image.shape == (64, 64, 3)  # the first preview is always decoded
    shapes = {p.image.shape for p in steps}
    assert shapes <= {(64, 64, 3), (32, 32, 3), (16, 16, 3), (8, 8, 3)}  # full, downscaled, linear
    previews = result.recipe["previews"]
    assert previews["decodes"] + previews["skipped"] == 4


def test_full_vae_previews_only_on_request(engine, tiny_models):
    result, steps = run(engine, req(tiny_models.folder("sd1"), preview_decoder="vae"))
    assert steps[0].image.shape == (64, 64, 3) and result.recipe["previews"]["decodes"] >= 1


def test_original_layout_taesd_decoder_loads_and_decodes_the_same(taesd_folder, tmp_path):
    from diffusers import AutoencoderTiny

    from studio.engine.diffusion.taesd import load_taesd
    from studio.engine.models.registry import inspect_file

    reference = AutoencoderTiny.from_pretrained(str(taesd_folder))
    original = {}
    for key, value in reference.state_dict().items():
        if key.startswith("decoder.layers."):
            index, _, rest = key[len("decoder.layers.") :].partition(".")
            original[f"{int(index) + 1}.{rest}"] = value
    torch.save(original, str(tmp_path / "taesd_decoder.pth"))
    info = inspect_file(tmp_path / "taesd_decoder.pth")
    assert (info.kind, info.variant) == ("taesd", "decoder")
    ours = load_taesd(str(tmp_path / "taesd_decoder.pth"), "cpu", "float32")
    z = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        assert torch.equal(ours.decode(z).sample, reference.decode(z).sample)


def test_governor_keeps_preview_cost_under_five_percent():
    from studio.engine.diffusion.taesd import GovernedDecoder

    gov = GovernedDecoder(model=None)
    assert gov.scale_for(0.0, 4096) == 1  # the first preview is always decoded
    gov.decode_seconds, gov.decodes, gov.decoded_pixels = 0.1, 1, 4096
    assert gov.scale_for(4.0, 4096) == 1  # 0.2 s for 4 s of steps = 5 %: full size
    assert gov.scale_for(2.6, 4096) == 2  # full size would be 7.7 %; a quarter of the pixels fits
    assert gov.scale_for(2.2, 4096) == 4
    assert gov.scale_for(1.0, 4096) is None  # even 1/16 of the pixels is too much: skip


def test_rerun_exactly_reproduces_the_image(engine, tiny_models):
    from studio.engine.recipe import request_from_recipe

    picture, mask = picture_and_mask()
    first, _ = run(
        engine,
        req(
            tiny_models.single_file("sd1"),
            init_image=picture,
            mask=mask,
            strength=0.9,
            sampler="Euler a",
            variation_seed=None,
        ),
    )
    recipe = json.loads(json.dumps(first.recipe))  # as stored in a PNG
    again, _ = run(engine, request_from_recipe(recipe, init_image=picture, mask=mask))
    assert np.array_equal(first.image, again.image)
    with pytest.raises(InvalidRequestError, match="mask is missing"):
        request_from_recipe(recipe, init_image=picture)


def test_cache_budget_frees_the_previous_model(tiny_models):
    small = DiffusionEngine(cache_budget_bytes=1)
    a, b = tiny_models.folder("sd1"), tiny_models.single_file("sd1")
    run(small, req(a))
    run(small, req(b))
    assert [k[0] for k in small.cache.loaded_keys()] == [str(b)]
    roomy = DiffusionEngine(cache_budget_bytes=2**30)
    run(roomy, req(a))
    run(roomy, req(b))
    run(roomy, req(a))  # a hit: moves to the newest end
    assert [k[0] for k in roomy.cache.loaded_keys()] == [str(b), str(a)]
    assert 0 < roomy.cache.used_bytes < 2**30


def test_controlnet_single_file_with_sidecar_config(engine, tiny_models, controlnet_path, tmp_path):
    """A ControlNet .safetensors (diffusers keys) next to `<stem>.config/` loads offline."""
    from safetensors.torch import load_file, save_file

    from studio.engine.models.registry import inspect_file

    state = load_file(str(controlnet_path / "diffusion_pytorch_model.safetensors"))
    save_file(state, str(tmp_path / "seg.safetensors"))
    (tmp_path / "seg.config").mkdir()
    shutil.copy(controlnet_path / "config.json", tmp_path / "seg.config" / "config.json")
    assert inspect_file(tmp_path / "seg.safetensors").kind == "controlnet"
    folder = tiny_models.folder("sd1")
    from_file, _ = run(
        engine, req(folder, label_map=labels(), controlnet_path=str(tmp_path / "seg.safetensors"))
    )
    from_folder, _ = run(
        engine, req(folder, label_map=labels(), controlnet_path=str(controlnet_path))
    )
    assert np.array_equal(from_file.image, from_folder.image)


def test_sdxl_semantic_generation_runs(engine, tiny_models, tmp_path):
    from diffusers import ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(str(tiny_models.folder("sdxl") / "unet"))
    ControlNetModel.from_unet(unet).save_pretrained(str(tmp_path / "xl-seg"))
    result, steps = run(
        engine,
        req(
            tiny_models.folder("sdxl"), label_map=labels(), controlnet_path=str(tmp_path / "xl-seg")
        ),
    )
    assert result.recipe["pipeline"] == "StableDiffusionXLControlNetPipeline" and len(steps) == 3
