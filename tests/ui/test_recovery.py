"""Kill-and-recover: a real Studio process killed with SIGKILL leaves work that is restored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from studio.app.main import build_window, offer_recovery
from studio.document.layers import LABEL
from studio.io import recovery
from tests.fakes import FakeEngine

REPO = Path(__file__).resolve().parents[2]


def _wait_line(proc, prefix: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"child never printed {prefix!r}; stderr: {proc.stderr.read()[-2000:]}")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_process_work_is_offered_and_restored(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.ui.recovery_child", "0.3"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _wait_line(proc, "AUTOSAVED", timeout=60)
        assert Path(line.split()[1]).name.startswith(f"autosave-{proc.pid}-")
        assert recovery.find_recoverable() == []  # the owner is alive: nothing to offer yet
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    found = recovery.find_recoverable()
    assert [item.pid for item in found] == [proc.pid]

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = build_window(FakeEngine(steps=2), settings)
    qtbot.addWidget(window)
    asked = []
    restored = offer_recovery(window, lambda w, when, i, n: asked.append((when, n)) or True)
    assert restored and asked and asked[0][1] == 1
    doc = window.document
    assert [x.name for x in doc.layers] == ["Background", "Lake map"]
    labels = doc.layers[1]
    assert labels.kind == LABEL and labels.pixels[200, 100] == 6 and labels.pixels[0, 0] == 0
    assert tuple(doc.layers[0].pixels[20, 20]) == (200, 0, 0, 255)
    assert not doc.undo_stack.isClean()  # restored work still needs saving
    assert recovery.find_recoverable() == []  # moved aside, not offered twice
    kept = list(recovery.recovery_dir().glob("restored-*.studio"))
    assert len(kept) == 1
    window.close()


def test_declining_keeps_the_file_and_clean_exit_leaves_nothing(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = build_window(FakeEngine(steps=2), settings)
    qtbot.addWidget(window)
    recovery.claim()
    with qtbot.waitSignal(window.autosaver.saved, timeout=10000):
        window.autosaver.save_now()  # written on the file thread
    assert recovery.autosave_path().exists()
    window.close()  # clean document: the autosave and lock go away
    assert not recovery.autosave_path().exists() and not recovery.lock_path().exists()
    # a dead process's autosave, declined: kept aside, not offered again
    dead = recovery.autosave_path(f"{2**22 + 12345}-deadbeef")
    dead.write_bytes(b"whatever")
    second = build_window(FakeEngine(steps=2), settings)
    qtbot.addWidget(second)
    assert not offer_recovery(second, lambda *a: False)
    assert list(recovery.recovery_dir().glob("previous-*.studio"))
    assert recovery.find_recoverable() == []
    second.close()


def test_unsaved_work_survives_a_normal_close(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = build_window(FakeEngine(steps=2), settings)
    qtbot.addWidget(window)
    recovery.claim()
    window.document.add_mask_layer("Unsaved mask")
    window.close()
    assert recovery.autosave_path().exists() and not recovery.lock_path().exists()
    mine = recovery.session_id()
    monkeypatch.setattr(recovery, "_SESSION", "next-start")  # as the next Studio sees it
    assert [x.owner for x in recovery.find_recoverable()] == [mine]


def test_a_finished_generation_is_autosaved_at_once(qtbot, tmp_path, monkeypatch, tiny_sd_path):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = build_window(FakeEngine(steps=2, step_delay=0.01), settings)
    qtbot.addWidget(window)
    window.session.open_model_folder(str(tiny_sd_path))
    window.prompt_panel.load(window.session.settings)
    window.prompt_panel.width_spin.setValue(64)
    window.prompt_panel.height_spin.setValue(64)
    assert not recovery.autosave_path().exists()
    with qtbot.waitSignal(window.autosaver.saved, timeout=10000):
        window.generate()
    from studio.io.project import load_project

    data = load_project(recovery.autosave_path())
    assert len(data.layers) == 2 and data.layers[1]["name"].startswith("Prompt")
    window.close()


def test_quitting_during_a_save_finishes_it_and_keeps_later_strokes(qtbot, tmp_path, monkeypatch):
    import threading

    from studio.document.paint import BrushSettings, Stroke
    from studio.io.project import load_project

    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = build_window(FakeEngine(steps=2), settings)
    qtbot.addWidget(window)
    recovery.claim()
    doc = window.document
    gate = threading.Event()
    window.saver.submit("Hold", tmp_path / "x", lambda _p, _progress: gate.wait(10))
    assert window.save(str(tmp_path / "work.studio"))  # returns at once: the write is queued
    assert doc.undo_stack.isClean()
    background = doc.layers[0]
    stroke = Stroke(background, BrushSettings(size=9, hardness=1.0), (0, 0, 255))
    stroke.add_point(30, 30)
    doc.commit_pixels(background, *stroke.finish(), "Stroke")  # painting while the save waits
    threading.Timer(0.3, gate.set).start()
    window.close()  # waits for the save in flight, then autosaves the stroke
    saved = load_project(tmp_path / "work.studio").layers[0]["pixels"]
    assert tuple(saved[30, 30]) == (255, 255, 255, 255)  # the file: the document at Save time
    kept = load_project(recovery.autosave_path()).layers[0]["pixels"]
    assert tuple(kept[30, 30]) == (0, 0, 255, 255)  # the stroke after it: in the recovery copy
