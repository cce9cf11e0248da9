"""Child for the Timeline screenshot: a real window generates on the tiny model, then waits."""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from studio.app.main import build_window
from studio.engine.diffusion.engine import DiffusionEngine


def main() -> int:
    model, out = sys.argv[1], sys.argv[2]
    app = QApplication(sys.argv)
    settings = QSettings(out + ".ini", QSettings.Format.IniFormat)
    settings.setValue("engine/device", "cpu")
    settings.setValue("engine/dtype", "float32")
    window = build_window(DiffusionEngine(), settings)
    window.resize(1500, 950)
    window.session.open_model_folder(model)
    p = window.prompt_panel
    p.load(window.session.settings)
    p.width_spin.setValue(128)
    p.height_spin.setValue(128)
    p.steps_spin.setValue(12)
    p.sampler_combo.setCurrentText("DPM++ 2M")
    p.random_check.setChecked(False)
    p.prompt_edit.setPlainText("a red barn in snow")
    window.show()

    def arrived() -> None:
        panel = window.timeline_panel
        panel.set_step(4)
        dock = window.timeline_dock
        top_left = dock.mapToGlobal(dock.rect().topLeft())
        box = [top_left.x(), top_left.y(), dock.width(), dock.height()]
        QTimer.singleShot(800, lambda: print("READY", json.dumps(box), flush=True))

    window.run_history.runs_changed.connect(arrived)
    QTimer.singleShot(500, window.generate)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
