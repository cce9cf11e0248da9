"""`studio generate` on the starter: with --model and without it (the app's own choice), the
same picture and recipe as the window's session makes from the same settings."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from studio.app.cli import main as studio_main
from studio.document.document import Document
from studio.engine.router import EngineRouter
from studio.engine.starter.model import build_unet, save_starter, tiny_config
from studio.io.png import read_recipe
from studio.session.jobs import JobQueue
from studio.session.session import GenerationSession
from studio.worker.worker import GenerationWorker

PROMPT = "a lake at sunset"
WIDTH, HEIGHT, STEPS, SEED = 48, 40, 3, 11


@pytest.fixture
def starter_home(tmp_path, monkeypatch):
    torch.manual_seed(0)
    cfg = tiny_config()
    models = tmp_path / "models"
    save_starter(models / "starter-diffusion", build_unet(cfg), cfg, "# Tiny\n", fp16=False)
    monkeypatch.setenv("STUDIO_MODELS_PATH", str(models))
    return models / "starter-diffusion"


def _cli(out, *extra) -> int:
    return studio_main(["generate", "--prompt", PROMPT, "--steps", str(STEPS), "--seed", str(SEED),
                        "--width", str(WIDTH), "--height", str(HEIGHT), "--out", str(out),
                        "--quiet", *extra])  # fmt: skip


def _window_result(qtbot, starter: str):
    doc = Document(WIDTH, HEIGHT)
    worker = GenerationWorker(EngineRouter())
    session = GenerationSession(doc, JobQueue(worker))
    try:
        session.refresh_models()
        assert session.settings.model_path == starter  # the app's default choice
        s = session.settings
        s.prompt, s.steps, s.seed, s.random_seed = PROMPT, STEPS, SEED, False
        s.guidance_scale = 3.0  # what the Generate dock shows for a starter model
        with qtbot.waitSignal(session.result_added, timeout=30000):
            session.generate()
        layer = doc.layers[-1]
        return np.asarray(layer.pixels[:, :, :3]), dict(layer.metadata)
    finally:
        assert worker.shutdown(5.0)


def test_starter_headless_with_and_without_model_matches_the_window(
    qtbot, qapp, starter_home, tmp_path, capsys
):
    named, default = tmp_path / "named.png", tmp_path / "default.png"
    assert _cli(named, "--model", str(starter_home)) == 0
    assert _cli(default) == 0
    said = capsys.readouterr().err
    assert "quiet" not in said  # --quiet keeps progress off; only errors would show
    a, b = np.asarray(Image.open(named)), np.asarray(Image.open(default))
    assert a.shape == (HEIGHT, WIDTH, 3) and np.array_equal(a, b)
    pixels, window_recipe = _window_result(qtbot, str(starter_home))
    assert np.array_equal(pixels, a)
    cli_recipe = read_recipe(named)
    for recipe in (cli_recipe, window_recipe):
        recipe.pop("seconds", None)
    assert cli_recipe == window_recipe
    assert cli_recipe["guidance_scale"] == 3.0 and cli_recipe["model_family"] == "starter"


def test_without_model_it_says_which_model_it_chose(starter_home, tmp_path, capsys):
    out = tmp_path / "x.png"
    assert studio_main(["generate", "--prompt", "a lake", "--steps", "2", "--width", "32",
                        "--height", "32", "--out", str(out)]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert f"no --model given: using starter-diffusion ({starter_home})" in err
