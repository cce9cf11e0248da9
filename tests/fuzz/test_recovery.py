"""Damaged autosaves never stop Studio from starting and no copy is ever lost: each one is
offered in turn (newest first); a damaged one is kept aside as `damaged-…` with a banner,
and the next is offered until one is restored."""

from __future__ import annotations

import os
import time
import zipfile

import numpy as np
from PySide6.QtCore import QSettings

from studio.app.main import build_window, offer_recovery
from studio.io import recovery
from studio.io.project import ProjectData, save_project
from tests.fakes import FakeEngine
from tests.fuzz.conftest import case
from tests.fuzz.strategies import deep_json


def _damaged(folder) -> dict[str, bytes]:
    good = folder / "good.studio"
    layer = {"name": "Kept", "kind": "raster", "pixels": np.full((8, 8, 4), 7, np.uint8)}
    save_project(good, ProjectData(8, 8, [layer], extra={"autosave": {"path": 5}}))
    data = good.read_bytes()
    hostile = folder / "hostile.studio"
    with zipfile.ZipFile(hostile, "w") as archive:
        manifest = b'{"format": "studio-project", "version": 2, "x": ' + deep_json(9000) + b"}"
        archive.writestr("manifest.json", manifest)
    return {
        "random": os.urandom(300),
        "empty": b"",
        "cut": data[: len(data) // 2],
        "deep manifest": hostile.read_bytes(),
        "good, odd autosave stamp": data,
    }


def test_damaged_autosaves_are_kept_aside_and_the_good_one_restored(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    folder = recovery.recovery_dir()
    folder.mkdir(parents=True)
    blobs = _damaged(tmp_path)
    now = time.time()
    for age, (label, blob) in enumerate(blobs.items()):  # the damaged ones are the newest
        path = recovery.autosave_path(f"{1000 + age}-{age:08x}")
        path.write_bytes(blob)
        os.utime(path, (now - age * 60 - (600 if label.startswith("good") else 0),) * 2)
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = build_window(FakeEngine(steps=2), settings)
    qtbot.addWidget(window)
    window.show()  # as run_gui does before offering
    qtbot.waitExposed(window)
    asked = []
    with case("damaged autosaves", f"{len(blobs)} autosaves at start"):
        restored = offer_recovery(window, lambda w, when, i, n: asked.append((i, n)) or True)
    assert restored and asked == [(i, len(blobs)) for i in range(1, len(blobs) + 1)]
    assert [layer.name for layer in window.document.layers] == ["Kept"]
    assert window.banner.isVisible() and "kept as damaged-" in window.banner.message
    kept = sorted(p.name.split("-")[0] for p in folder.glob("*.studio"))
    assert kept == ["damaged"] * (len(blobs) - 1) + ["restored"]  # nothing lost
    assert recovery.find_recoverable() == []
    window.close()
