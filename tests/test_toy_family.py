"""A model family added entirely inside this test (one module-like block below, one
registration): the registry lists its files, `studio generate` runs it headless, the session
offers it for its declared mode only, and the worker streams its steps to the window's session.
Nothing outside this file knows the family exists."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.app.cli import main as studio_main
from studio.document.document import Document
from studio.engine.families import Family, family_for_request, family_of_model, register
from studio.engine.families import unregister as unregister_family
from studio.engine.inputs import Built, GenerateParams, Inputs
from studio.engine.models.registry import ModelInfo, scan
from studio.engine.requests import GenerationResult, StepPreview
from studio.engine.router import EngineRouter
from studio.errors import Cancelled, InvalidRequestError, StudioError
from studio.io.png import read_recipe
from studio.session.jobs import JobQueue
from studio.session.session import GenerationSession
from studio.worker.worker import GenerationWorker


# ---- the toy family: what a new family's folder would hold -------------------------------
@dataclass(frozen=True)
class ToyRequest:
    """Fill the canvas with the model's colour, brighter for each prompt word, in N steps."""

    model_path: str
    prompt: str
    seed: int
    width: int
    height: int
    steps: int

    @property
    def mode(self) -> str:
        return "txt2img"

    def describe(self) -> dict:
        return {"mode": "toy", "model": self.model_path, "prompt": self.prompt, "seed": self.seed}


class ToyEngine:
    """Streams one preview per step; honours cancel between steps."""

    def __init__(self) -> None:
        self.runs = 0

    def run(self, request: ToyRequest, on_step, cancel: threading.Event):
        self.runs += 1
        colour = np.array(json.loads(Path(request.model_path).read_text())["colour"], np.uint8)
        started = time.perf_counter()
        image = np.zeros((request.height, request.width, 3), np.uint8)
        for step in range(1, request.steps + 1):
            if cancel.is_set():
                raise Cancelled()
            image[:] = (colour.astype(int) * step // request.steps).astype(np.uint8)
            elapsed = time.perf_counter() - started
            on_step(StepPreview(step, request.steps, image, elapsed))
        recipe = {**request.describe(), "words": len(request.prompt.split())}
        return GenerationResult(image, request, recipe, steps_done=request.steps)


class ToyFamily(Family):
    name = "toy"
    title = "Toy"
    request_types = (ToyRequest,)
    modes = ("prompt",)
    suffixes = (".toy",)

    def __init__(self) -> None:
        self.engine = ToyEngine()

    def recognises(self, path: Path) -> bool:
        return Path(path).suffix == ".toy"

    def inspect(self, path: Path) -> ModelInfo | None:
        if not self.recognises(path) or not Path(path).is_file():
            return None
        try:
            json.loads(Path(path).read_text())["colour"]
        except (ValueError, KeyError) as exc:
            return ModelInfo(path.name, str(path), "sd-pipeline", "toy", "single-file", 0,
                             f"not a toy model: {exc}")  # fmt: skip
        size = Path(path).stat().st_size
        return ModelInfo(path.name, str(path), "sd-pipeline", "toy", "single-file", size)

    def make_engine(self, cache=None):
        return self.engine

    def build_request(self, mode: str, model_path: str, params: GenerateParams, inputs: Inputs):
        if mode != "prompt":
            return super().build_request(mode, model_path, params, inputs)
        if params.steps > 50:
            raise InvalidRequestError(f"A toy runs at most 50 steps, got {params.steps}.")
        width, height = inputs.canvas
        request = ToyRequest(model_path, params.prompt, params.seed, width, height, params.steps)
        return Built(request)


# ---- the tests -----------------------------------------------------------------------------
@pytest.fixture
def toy(tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    (models / "red.toy").write_text(json.dumps({"colour": [200, 40, 20]}))
    (models / "broken.toy").write_text("{not json")
    monkeypatch.setenv("STUDIO_MODELS_PATH", str(models))
    family = register(ToyFamily())
    yield family, models
    unregister_family("toy")


def test_registry_and_models_list_recognise_its_files(toy, capsys):
    family, models = toy
    found = {m.name: m for m in scan([models], kinds=None)}
    assert found["red.toy"].owner == "toy" and found["red.toy"].usable
    assert "not a toy model" in found["broken.toy"].problem
    assert family_of_model(found["red.toy"]) is family
    assert family_of_model(models / "red.toy") is family
    assert studio_main(["models", "list", str(models)]) == 0
    out = capsys.readouterr().out
    assert "red.toy\tsd-pipeline\ttoy" in out and "REJECTED: not a toy model" in out


def test_studio_generate_runs_it_headless_with_its_recipe(toy, tmp_path, capsys):
    family, models = toy
    out = tmp_path / "toy.png"
    argv = ["generate", "--model", str(models / "red.toy"), "--prompt", "two words"]
    code = studio_main([*argv, "--steps", "4", "--width", "40", "--height", "24", "--seed", "9",
                        "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    pixels = np.asarray(Image.open(out).convert("RGB"))
    assert pixels.shape == (24, 40, 3) and tuple(pixels[0, 0]) == (200, 40, 20)
    recipe = read_recipe(out)
    assert recipe["mode"] == "toy" and recipe["words"] == 2 and recipe["seed"] == 9
    assert family.engine.runs == 1
    err = capsys.readouterr().err
    assert "step 4/4" in err


def test_studio_generate_refuses_a_mode_the_family_does_not_offer(toy, tmp_path, capsys):
    _family, models = toy
    labels = tmp_path / "labels.png"
    Image.fromarray(np.zeros((8, 8), np.uint8), "L").save(labels)
    argv = ["generate", "--model", str(models / "red.toy"), "--labels", str(labels)]
    assert studio_main([*argv, "--out", str(tmp_path / "x.png")]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("studio: error:") and "Toy model" in last and "not paint" in last
    assert not (tmp_path / "x.png").exists()


def test_the_router_dispatches_by_request_type(toy):
    family, models = toy
    request = ToyRequest(str(models / "red.toy"), "a", 0, 4, 4, 2)
    assert family_for_request(request) is family
    steps = []
    result = EngineRouter().run(request, steps.append, threading.Event())
    assert [s.step for s in steps] == [1, 2] and result.image.shape == (4, 4, 3)
    with pytest.raises(StudioError, match="No model family runs a str"):
        family_for_request("not a request")


def test_the_session_offers_it_for_its_mode_and_the_worker_streams_it(qtbot, qapp, toy):
    family, models = toy
    doc = Document(32, 16)
    worker = GenerationWorker(EngineRouter())
    session = GenerationSession(doc, JobQueue(worker))
    try:
        session.refresh_models()
        toy_model = next(m for m in session.models if m.name == "red.toy")
        session.settings.model_path = toy_model.path
        assert session.family() is family and session.family().modes == ("prompt",)
        session.settings.steps, session.settings.prompt = 3, "one"
        session.settings.random_seed = False
        previews = []
        session.preview_changed.connect(lambda p: p is not None and previews.append(p))
        with qtbot.waitSignal(session.result_added, timeout=10000):
            assert session.generate() is not None
        layer = doc.layers[-1]
        assert layer.pixels.shape == (16, 32, 4) and tuple(layer.pixels[0, 0, :3]) == (200, 40, 20)
        assert layer.metadata["mode"] == "toy" and previews  # streamed through the worker
        session.settings.mode = "paint"  # not a mode the toy declares: refused, nothing queued
        errors = []
        session.error_raised.connect(lambda message, details: errors.append(message))
        assert session.generate() is None
        assert errors and "Toy models do not do “Paint”" in errors[0]
    finally:
        assert worker.shutdown(5.0)


def test_the_generate_dock_shows_only_the_modes_it_declares(qtbot, toy, tmp_path):
    from PySide6.QtCore import QSettings

    from studio.app.main import build_window
    from studio.ui.generate.prompt_panel import MODE_TABS

    _family, models = toy
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = build_window(EngineRouter(), settings)
    qtbot.addWidget(window)
    try:
        panel = window.prompt_panel
        toy_path = str(models / "red.toy")
        panel.model_combo.setCurrentIndex(panel.model_combo.findData(toy_path))
        enabled = {mode: panel.mode_bar.isTabEnabled(i) for i, (mode, *_) in enumerate(MODE_TABS)}
        assert enabled == {"prompt": True, "paint": False, "inpaint": False, "translate": True,
                           "sample": False}  # fmt: skip
        assert panel.family().name == "toy"
    finally:
        window.close()
