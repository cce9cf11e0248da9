"""Save, Save As and PNG export: a snapshot on the GUI thread, the writing in the background."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from studio.document.layers import composite
from studio.io.png import save_png
from studio.session.saver import BackgroundSaver, snapshot_project

log = logging.getLogger(__name__)
PROJECT_FILTER = "Studio project (*.studio)"
SAVE, EXPORT = "Save", "Export"


class SavingActions:
    """Mixed into MainWindow (document, session, banner, statusBar, prompt_panel)."""

    def install_saver(self) -> BackgroundSaver:
        """The one file thread every save, autosave and export of this window goes through."""
        self.saver = self.controllers.saver  # built by the composition root
        self.saver.progressed.connect(self._save_progressed)
        self.saver.finished.connect(self._save_finished)
        return self.saver

    # ---- project ---------------------------------------------------------------------------
    def save(self, path: str | None = None) -> bool:
        """Start saving the document as it is now; painting goes on while it is written.

        The undo stack is marked clean at once (that state is what is being written); a failed
        write marks it unsaved again and says so in the banner.
        """
        from studio.ui.document_actions import settings_dict

        path = path or self.document.path
        if not path:
            return self.save_as()
        self.prompt_panel.store(self.session.settings)
        self.document.generation_settings = settings_dict(self.session.settings)
        data = snapshot_project(self.document)
        self.document.path = str(path)
        self.document.undo_stack.setClean()
        self.saver.save_project(SAVE, Path(path), data)
        self.statusBar().showMessage(f"Saving {Path(path).name}…")
        return True

    def save_as(self, path: str | None = None) -> bool:
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Save project", str(Path.home() / "untitled.studio"), PROJECT_FILTER
            )
        if not path:
            return False
        if not path.lower().endswith(".studio"):
            path += ".studio"
        return self.save(path)

    # ---- PNG export ------------------------------------------------------------------------
    def _recipe_for_export(self, layer=None) -> dict | None:
        if layer is not None:
            return layer.metadata or None
        active = self.document.active_layer
        if active is not None and active.visible and active.metadata:
            return active.metadata
        for candidate in reversed(self.document.layers):
            if candidate.visible and candidate.metadata:
                return candidate.metadata
        return None

    def _ask_png_path(self, title: str) -> str:
        path, _ = QFileDialog.getSaveFileName(
            self, title, str(Path.home() / "studio.png"), "PNG image (*.png)"
        )
        if path and not path.lower().endswith(".png"):
            path += ".png"
        return path

    def export_canvas(self, path: str | None = None) -> None:
        """Composite and write in the background, from frozen copies of the layers."""
        path = path or self._ask_png_path("Export canvas as PNG")
        if not path:
            return
        doc = self.document
        layers = [dataclasses.replace(layer, pixels=layer.snapshot()) for layer in doc.layers]
        size, alone, recipe = (doc.width, doc.height), doc.labels_alone, self._recipe_for_export()

        def write(target: Path, progress) -> None:
            pixels = composite(layers, *size, labels_alone=alone)
            progress(0.5)
            save_png(target, pixels, recipe)

        self.saver.submit(EXPORT, Path(path), write)

    def export_layer(self, path: str | None = None) -> None:
        layer = self.document.active_layer
        if layer is None:
            self.banner.show_error("There is no active layer to export.")
            return
        path = path or self._ask_png_path("Export layer as PNG")
        if path:
            pixels, recipe = layer.snapshot(), self._recipe_for_export(layer)
            self.saver.submit(EXPORT, Path(path), lambda p, _progress: save_png(p, pixels, recipe))

    # ---- outcome (GUI thread) --------------------------------------------------------------
    def _save_progressed(self, label: str, fraction: float) -> None:
        if label != "Autosave":
            self.statusBar().showMessage(f"{label}: writing… {fraction * 100:.0f} %")

    def _save_finished(self, label: str, path: str, error: str) -> None:
        if label not in (SAVE, EXPORT):
            return  # the autosaver handles its own
        name = Path(path).name
        if error:
            if label == SAVE and self.document.path == path:
                self.document.undo_stack.resetClean()  # what is on screen is not on disk
            self.banner.show_error(f"Could not save {name}.", error)
            return
        self.statusBar().showMessage(f"Saved {path}", 5000)
