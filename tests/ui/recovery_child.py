"""Child process for the kill-and-recover test: paints, autosaves on its timer, then idles."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from studio.app.main import build_window  # noqa: E402
from studio.io.paths import user_data_dir  # noqa: E402
from studio.io.recovery import claim  # noqa: E402
from tests.fakes import FakeEngine  # noqa: E402


def paint(window) -> None:
    """A deterministic edit the parent can check: a label layer and a red block."""
    doc = window.document
    labels = doc.add_label_layer("Lake map")
    labels.pixels[100:300, 50:450] = 6
    bg = doc.layers[0]
    before = bg.pixels[10:40, 10:60].copy()
    bg.pixels[10:40, 10:60] = (200, 0, 0, 255)
    doc.commit_pixels(bg, (10, 10, 60, 40), before, "Brush")


def main() -> int:
    app = QApplication(sys.argv)
    settings = QSettings(str(user_data_dir() / "settings.ini"), QSettings.Format.IniFormat)
    window = build_window(FakeEngine(steps=2), settings)
    window.show()
    claim()
    window.autosaver.set_interval(float(sys.argv[1]))  # the real timer path, just faster
    window.autosaver.saved.connect(lambda path: print("AUTOSAVED", path, flush=True))
    QTimer.singleShot(0, lambda: paint(window))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
