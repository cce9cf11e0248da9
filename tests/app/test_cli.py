"""`studio` headless: generate with streamed previews, metadata, clear errors, version, help."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from PIL import Image


def studio(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "studio", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_version_and_help():
    import studio as pkg

    assert studio("--version").stdout.strip() == f"studio {pkg.__version__}"
    out = studio("generate", "--help").stdout
    for flag in (
        "--model",
        "--prompt",
        "--negative-prompt",
        "--steps",
        "--cfg",
        "--seed",
        "--width",
        "--height",
        "--sampler",
        "--init-image",
        "--strength",
        "--out",
        "--preview-dir",
        "--device",
        "--dtype",
    ):
        assert flag in out


def test_generate_writes_image_previews_and_recipe(tiny_sd_path, tmp_path):
    out, previews = tmp_path / "out.png", tmp_path / "steps"
    done = studio(
        "generate",
        "--model",
        str(tiny_sd_path),
        "--prompt",
        "a quiet bay",
        "--negative-prompt",
        "people",
        "--steps",
        "3",
        "--seed",
        "7",
        "--width",
        "64",
        "--height",
        "48",
        "--sampler",
        "DDIM",
        "--out",
        str(out),
        "--preview-dir",
        str(previews),
        "--dtype",
        "float32",
        "--device",
        "cpu",
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in previews.iterdir()) == [
        "step-0001.png",
        "step-0002.png",
        "step-0003.png",
    ]
    assert "step 3/3" in done.stderr
    with Image.open(out) as image:
        assert image.size == (64, 48)
        params = image.text["parameters"]
    assert params.startswith(
        "a quiet bay\nNegative prompt: people\nSteps: 3, Sampler: DDIM, "
        "CFG scale: 7.0, Seed: 7, Size: 64x48, Model: tiny-sd"
    )
    # img2img from that output, same engine
    out2 = tmp_path / "out2.png"
    again = studio(
        "generate",
        "--model",
        str(tiny_sd_path),
        "--prompt",
        "a quiet bay",
        "--init-image",
        str(out),
        "--strength",
        "0.5",
        "--steps",
        "4",
        "--width",
        "64",
        "--height",
        "48",
        "--out",
        str(out2),
        "--dtype",
        "float32",
        "--quiet",
    )
    assert again.returncode == 0, again.stderr
    with Image.open(out2) as image:
        assert "Denoising strength: 0.5" in image.text["parameters"]
        assert not np.array_equal(np.asarray(image), np.asarray(Image.open(out)))


def test_bad_input_exits_non_zero_with_one_line(tiny_sd_path, tmp_path):
    cases = [
        (["--model", str(tmp_path / "nope")], "Model folder not found"),
        (["--model", str(tiny_sd_path), "--width", "70"], "multiple of 8"),
        (
            ["--model", str(tiny_sd_path), "--init-image", str(tmp_path / "x.png")],
            "x.png does not exist",
        ),
    ]
    for extra, words in cases:
        done = studio(
            "generate",
            "--prompt",
            "x",
            "--out",
            str(tmp_path / "o.png"),
            "--dtype",
            "float32",
            *extra,
        )
        assert done.returncode != 0
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("studio: error:") and words in last
    assert not (tmp_path / "o.png").exists()


def test_help_lists_every_mode_flag():
    out = studio("generate", "--help").stdout
    for flag in (
        "--mask",
        "--mask-blur",
        "--padding",
        "--masked-content",
        "--labels",
        "--controlnet",
        "--control-scale",
        "--lora",
        "--refiner",
        "--batch",
        "--variation-seed",
        "--variation-strength",
        "--outpaint",
    ):
        assert flag in out


def test_lora_flag_takes_an_optional_weight():
    from studio.app.cli import _lora

    assert _lora("style.safetensors") == ("style.safetensors", 1.0)
    assert _lora("/loras/style.safetensors:0.6") == ("/loras/style.safetensors", 0.6)
    assert _lora("C:\\loras\\style.safetensors") == ("C:\\loras\\style.safetensors", 1.0)


def test_models_list_prints_kinds_and_reasons(tiny_sd_path, tmp_path):
    import shutil

    import torch

    shutil.copytree(tiny_sd_path, tmp_path / "tiny-sd")
    (tmp_path / "broken.safetensors").write_bytes(b"nonsense")

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'PWNED'}",))

    torch.save({"w": torch.ones(1), "x": Payload()}, str(tmp_path / "evil.ckpt"))
    done = studio("models", "list", str(tmp_path))
    assert done.returncode == 0, done.stderr
    lines = {line.split("\t")[0]: line.split("\t") for line in done.stdout.splitlines()}
    assert lines["tiny-sd"][1:4] == ["sd-pipeline", "sd1", "diffusers"]
    assert lines["tiny-sd"][5] == "ok" and lines["tiny-sd"][4].endswith("MB")
    assert "REJECTED" in lines["broken.safetensors"][5]
    assert "posix.system" in lines["evil.ckpt"][5]
    assert not (tmp_path / "PWNED").exists()


def test_models_convert_writes_safetensors(tmp_path):
    import torch
    from safetensors.torch import load_file

    torch.save({"state_dict": {"w": torch.arange(3.0)}}, str(tmp_path / "m.ckpt"))
    done = studio("models", "convert", str(tmp_path / "m.ckpt"))
    assert done.returncode == 0, done.stderr
    assert torch.equal(load_file(str(tmp_path / "m.safetensors"))["w"], torch.arange(3.0))


def test_generate_inpaint_batch_writes_every_image(tiny_sd_path, tmp_path):
    picture = np.zeros((64, 64, 3), np.uint8)
    picture[:, :, 0] = np.arange(64, dtype=np.uint8)[None, :] * 4
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255
    Image.fromarray(picture).save(tmp_path / "picture.png")
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = tmp_path / "out.png"
    done = studio(
        "generate",
        "--model",
        str(tiny_sd_path),
        "--prompt",
        "a window",
        "--steps",
        "2",
        "--width",
        "64",
        "--height",
        "64",
        "--init-image",
        str(tmp_path / "picture.png"),
        "--strength",
        "1.0",
        "--mask",
        str(tmp_path / "mask.png"),
        "--mask-blur",
        "4",
        "--batch",
        "2",
        "--seed",
        "5",
        "--device",
        "cpu",
        "--dtype",
        "float32",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    first, second = np.asarray(Image.open(out)), np.asarray(Image.open(tmp_path / "out-2.png"))
    outside = mask < 128
    assert np.array_equal(first[:, :, :3][outside], picture[outside])
    assert not np.array_equal(first, second)

    from studio.io.png import read_recipe

    recipe = read_recipe(tmp_path / "out-2.png")
    assert recipe["seed"] == 6 and recipe["mode"] == "inpaint" and recipe["mask_blur"] == 4


def test_generate_outpaint_grows_the_picture(tiny_sd_path, tmp_path):
    picture = np.full((64, 48, 3), 90, np.uint8)
    Image.fromarray(picture).save(tmp_path / "picture.png")
    out = tmp_path / "wide.png"
    done = studio(
        "generate", "--model", str(tiny_sd_path), "--prompt", "more beach", "--steps", "2",
        "--width", "64", "--height", "64", "--init-image", str(tmp_path / "picture.png"),
        "--strength", "1.0", "--outpaint", "0", "0", "16", "0", "--masked-content", "fill",
        "--device", "cpu", "--dtype", "float32", "--quiet", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = np.asarray(Image.open(out))
    assert result.shape[:2] == (64, 64)
    assert np.array_equal(result[:, :40, :3], picture[:, :40])  # up to the 8 px overlap


def test_gan_commands_are_wired_into_studio():
    done = studio("translate", "--help")
    assert done.returncode == 0 and "--model" in done.stdout
    assert "--label-set" in studio("generate", "--help").stdout


def test_generate_from_a_single_checkpoint_file(tmp_path):
    from studio.engine.testing.scaffold import TinySpec, save_sd_folder
    from studio.engine.testing.scaffold_ldm import save_single_file
    from studio.io.png import read_recipe

    folder = save_sd_folder(tmp_path / "tiny", TinySpec(layers_per_block=2))
    checkpoint = save_single_file(folder, tmp_path / "models" / "tiny.safetensors", "sd1")
    listed = studio("models", "list", str(checkpoint.parent))
    assert "tiny.safetensors\tsd-pipeline\tsd1\tsingle-file" in listed.stdout
    out = tmp_path / "out.png"
    done = studio(
        "generate", "--model", str(checkpoint), "--prompt", "a kite", "--steps", "2",
        "--width", "64", "--height", "64", "--seed", "3", "--device", "cpu",
        "--dtype", "float32", "--quiet", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    recipe = read_recipe(out)
    assert recipe["model_family"] == "sd1" and len(recipe["request"]["model_sha256"]) == 64


def test_generate_exports_the_recorded_run(tiny_sd_path, tmp_path):
    common = ["generate", "--model", str(tiny_sd_path), "--prompt", "a bay", "--steps", "4"]
    common += ["--seed", "3", "--width", "64", "--height", "48", "--sampler", "Heun"]
    common += ["--device", "cpu", "--dtype", "float32", "--out", str(tmp_path / "out.png")]
    done = studio(*common, "--export-run", str(tmp_path / "run.gif"), "--export-fps", "5")
    assert done.returncode == 0, done.stderr
    assert "wrote 4 steps to" in done.stderr
    with Image.open(tmp_path / "run.gif") as image:
        assert image.n_frames == 4 and image.size == (64, 48)
    folder = tmp_path / "frames"
    done = studio(*common, "--export-run", str(folder), "--export-view", "xt", "--quiet")
    assert done.returncode == 0, done.stderr
    assert len(list(folder.glob("step-*.png"))) == 4
    bad = studio(*common, "--export-run", str(tmp_path / "run.avi"))
    assert bad.returncode == 2 and "'.avi'" in bad.stderr
