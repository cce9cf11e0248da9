"""The GUI starting with a user models folder full of broken files: it opens, the good model
is chosen, every broken one is listed with its reason (model list and model manager), and
choosing one ends in the error banner, not a traceback."""

from __future__ import annotations

import shutil

from PySide6.QtCore import QSettings

from studio.app.main import build_window
from tests.fakes import FakeEngine
from tests.fuzz.conftest import case
from tests.fuzz.hostile_models import write_hostile_models


def test_gui_starts_with_broken_models(qtbot, tmp_path, tiny_sd_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    from studio.io.paths import user_models_dir

    models = user_models_dir()
    models.mkdir(parents=True)
    shutil.copytree(tiny_sd_path, models / "tiny-sd")
    broken = write_hostile_models(models)
    with case("GUI start, broken models", f"{len(broken)} broken files"):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window = build_window(FakeEngine(steps=2, step_delay=0.01), settings)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
    listed = {m.name: m for m in window.session.models}
    assert listed["tiny-sd"].usable
    assert window.session.settings.model_path == listed["tiny-sd"].path
    for name in broken:
        assert name in listed, f"{name} is hidden instead of listed as broken"
        assert listed[name].problem and "Studio could not inspect it" not in listed[name].problem

    window.open_model_manager()
    manager = window.model_manager
    qtbot.waitExposed(manager)
    tree = manager.installed.tree
    tips = {tree.topLevelItem(i).text(0): tree.topLevelItem(i).toolTip(1)
            for i in range(tree.topLevelItemCount())}  # fmt: skip
    for name in broken:
        assert any(name in label and "Cannot be used" in tip for label, tip in tips.items()), name
    manager.close()

    window.session.settings.model_path = listed["cut-short.safetensors"].path
    window.session.generate()
    qtbot.waitUntil(window.banner.isVisible, timeout=5000)
    assert "cut-short.safetensors" in window.banner.message
    window.close()


def test_gui_refuses_hostile_projects_in_the_banner(qtbot, tmp_path):
    """Opening a damaged, deep or oversized project shows the banner; the canvas is kept."""
    import json
    import zipfile

    from tests.fuzz.strategies import deep_json

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = build_window(FakeEngine(steps=2, step_delay=0.01), settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    size = (window.document.width, window.document.height)
    layer = {"kind": "raster", "file": "layers/0000.png"}
    manifests = {
        "deep": b'{"format": "studio-project", "version": 2, "x": ' + deep_json(50_000) + b"}",
        "NaN": b'{"format": "studio-project", "version": 2, "width": NaN, "height": 4}',
        "layers": json.dumps(
            {
                "format": "studio-project",
                "version": 2,
                "width": 4,
                "height": 4,
                "layers": [layer] * 5000,
            }
        ).encode(),  # fmt: skip
        "types": json.dumps(
            {"format": "studio-project", "version": 2, "width": "4", "height": 4, "layers": {}}
        ).encode(),  # fmt: skip
    }
    for label, manifest in manifests.items():
        path = tmp_path / f"{label}.studio"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("manifest.json", manifest)
        window.banner.hide()
        with case("GUI opens hostile projects", label):
            window.open_file(str(path))
        qtbot.waitUntil(window.banner.isVisible, timeout=5000)
        assert path.name in window.banner.message and "\n" not in window.banner.message
        assert (window.document.width, window.document.height) == size
    window.close()


def test_gui_refuses_hostile_pictures_in_the_banner(qtbot, tmp_path):
    """Opening a cut, mutated or 144-megapixel picture shows the banner; the canvas is kept."""
    from tests.fuzz.test_cli_inputs import _hostile_pictures

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = build_window(FakeEngine(steps=2, step_delay=0.01), settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    size = (window.document.width, window.document.height)
    folder = tmp_path / "pictures"
    folder.mkdir()
    for label, path in _hostile_pictures(folder).items():
        if label in ("a folder", "missing"):
            continue
        window.banner.hide()
        with case("GUI opens hostile pictures", label):
            window.open_file(str(path))
        qtbot.waitUntil(window.banner.isVisible, timeout=5000)
        assert "\n" not in window.banner.message
        assert (window.document.width, window.document.height) == size
    window.close()
