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
            "cannot read the init image",
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
