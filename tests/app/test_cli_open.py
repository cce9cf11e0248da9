"""`studio FILE` opens a project or an image in the window (what a double-click runs)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from studio.app import cli, main


def test_studio_file_opens_it_in_the_window(tmp_path, monkeypatch):
    picture = tmp_path / "photo.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(picture)
    opened = []
    monkeypatch.setattr(main, "run_gui", lambda open_path=None: opened.append(open_path) or 0)
    assert cli.main([str(picture)]) == 0
    project = tmp_path / "scene.studio"
    project.write_bytes(b"")
    assert cli.main([str(project)]) == 0
    assert opened == [str(picture), str(project)]


def test_a_missing_file_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(main, "run_gui", lambda open_path=None: 1 / 0)
    assert cli.main([str(tmp_path / "gone.studio")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("studio: error:") and "gone.studio" in err[0]


def test_the_window_opens_the_file_it_is_given(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from studio.app.main import build_window
    from tests.fakes import FakeEngine

    picture = tmp_path / "photo.png"
    Image.fromarray(np.full((12, 20, 3), 9, np.uint8)).save(picture)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = build_window(FakeEngine(), settings)
    qtbot.addWidget(window)
    try:
        window.open_file(str(picture))
        assert (window.document.width, window.document.height) == (20, 12)
    finally:
        window.close()
