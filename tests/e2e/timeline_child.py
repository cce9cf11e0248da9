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

    def report(name: str, dock) -> None:
        top_left = dock.mapToGlobal(dock.rect().topLeft())
        box = [top_left.x(), top_left.y(), dock.width(), dock.height()]
        print(name, json.dumps(box), flush=True)

    def arrived() -> None:
        if window.run_history.runs and window.run_history.runs[-1].live:
            return  # still running: wait for the finished run
        if window.explore_batch.cells:
            return  # the comparison's runs
        window.timeline_panel.set_step(4)
        QTimer.singleShot(800, lambda: report("TIMELINE", window.timeline_dock))
        QTimer.singleShot(3000, compare)

    def compare() -> None:
        window.explore_dock.raise_()
        panel = window.explore_panel
        panel.steps_edit.setText("4, 12")
        panel.run_batch()

    def compared() -> None:
        QTimer.singleShot(800, lambda: report("EXPLORE", window.explore_dock))

    window.run_history.runs_changed.connect(arrived)
    window.banner_shown = lambda m, d: print("ERROR", m, d, flush=True)
    window.session.error_raised.connect(window.banner_shown)
    window.explore_panel.error_raised.connect(window.banner_shown)
    window.explore_batch.batch_done.connect(compared)
    QTimer.singleShot(500, window.generate)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
