"""Shared fixtures: offline environment, tiny models built from configs, leak checks."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

# Before anything imports Qt or the hub clients.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["STUDIO_HOME"] = tempfile.mkdtemp(prefix="studio-test-home-")
os.environ["STUDIO_MODELS_PATH"] = ""

import pytest  # noqa: E402

ENGINE_THREAD = "studio-generation"


@pytest.fixture(scope="session")
def tiny_sd_path(tmp_path_factory) -> Path:
    """A random-weight SD 1.x diffusers folder (~1.5 M parameter UNet), saved once per run."""
    from studio.engine.testing.scaffold import save_sd_folder

    return save_sd_folder(tmp_path_factory.mktemp("models") / "tiny-sd")


@pytest.fixture(autouse=True)
def no_leftover_threads_or_windows(request):
    """Fail a test that leaves a generation thread or a visible top-level window behind."""
    before = {t.ident for t in threading.enumerate()}
    yield
    deadline = time.monotonic() + 3.0
    leftover = []
    while time.monotonic() < deadline:
        leftover = [
            t
            for t in threading.enumerate()
            if t.ident not in before and t.is_alive() and t.name == ENGINE_THREAD
        ]
        if not leftover:
            break
        time.sleep(0.05)
    assert not leftover, f"test left threads running: {[t.name for t in leftover]}"
    if "qapp" in request.fixturenames or "qtbot" in request.fixturenames:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            visible = [w for w in app.topLevelWidgets() if w.isVisible()]
            for w in visible:
                w.close()
            assert not visible, f"test left windows open: {visible}"


@pytest.fixture(autouse=True)
def no_bundled_models(monkeypatch):
    """The bundled models/ folder (starter models) left out, for every test: tests build the
    models they use in tmp, so the shipped starters never change what a test sees."""
    monkeypatch.setenv("STUDIO_BUNDLED_MODELS", "0")


@pytest.fixture(autouse=True)
def fast_memory_preset(monkeypatch):
    """The 'Automatic' memory preset resolves to Fast in tests (as on a roomy machine), so the
    test machine's RAM never changes a picture (tiled or sliced VAE); tests of the automatic
    choice call memory_presets.preset_by_memory or pass a preset."""
    from studio.engine.memory import presets as memory_presets

    monkeypatch.setattr(memory_presets, "auto_preset", lambda device, total: "fast")


@pytest.fixture(autouse=True)
def float32_automatic_precision(monkeypatch):
    """'Automatic' precision resolves to float32 on the CPU in tests (no measuring, and the
    same pictures on every machine); tests of the measured choice use precision.measure or
    put the real cpu_verdict back."""
    from studio.engine.memory import precision

    verdict = {"dtype": "float32", "seconds": {"float32": 1.0, "bfloat16": 1.0}}
    monkeypatch.setattr(precision, "cpu_verdict", lambda family, probe=None, clock=None: verdict)
