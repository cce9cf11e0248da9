"""Main-window actions on the document: new/open/save, import/export, selection and masks."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog, QMessageBox

from studio.document.files import (
    export_label_png,
    import_image_layer,
    import_label_png,
    new_from_image,
    open_document,
)
from studio.document.layers import LABEL, MASK, Layer, solid
from studio.document.paint import feather_mask, grow_mask, invert_mask, shrink_mask
from studio.errors import StudioError
from studio.session.settings import apply_values
from studio.ui.new_document import NewDocumentDialog

log = logging.getLogger(__name__)
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp)"
PROJECT_FILTER = "Studio project (*.studio)"
MASK_STEP, FEATHER = 4, 8


class DocumentActions:
    """Mixed into MainWindow (which provides document, banner, statusBar, settings_store)."""

    # ---- safety ---------------------------------------------------------------------------
    def confirm_discard(self) -> bool:
        """Ask before replacing unsaved work (autosave still has it either way)."""
        if self.document.undo_stack.isClean():
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            "The current document has unsaved changes. Discard them?",
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Discard

    def _fail(self, exc: StudioError) -> None:
        log.warning("%s (%s)", exc.message, exc.details)
        self.banner.show_error(exc.message, exc.details)

    # ---- new / open / save ----------------------------------------------------------------
    def new_document(self, size: tuple[int, int] | None = None) -> None:
        if size is None:
            dialog = NewDocumentDialog(self)
            if not dialog.exec():
                return
            size = dialog.chosen_size()
        if not self.confirm_discard():
            return
        w, h = size
        self.document.reset(w, h, [Layer("Background", solid(w, h, (255, 255, 255, 255)))])
        self._after_open()

    def open_file(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Open", str(Path.home()), f"{PROJECT_FILTER};;{IMAGE_FILTER}"
            )
        if not path or not self.confirm_discard():
            return
        self.saver.wait()  # a save of this very file may still be on its way to the disk
        try:
            if path.lower().endswith(".studio"):
                open_document(self.document, Path(path))
            else:
                new_from_image(self.document, Path(path))
        except StudioError as exc:
            self._fail(exc)
            return
        self._after_open()
        self.statusBar().showMessage(f"Opened {path}", 5000)

    def _after_open(self) -> None:
        s = self.session.settings
        s.width, s.height = self.document.width, self.document.height
        refused = apply_values(s, self.document.generation_settings)  # schema, not setattr
        if refused:
            log.warning("project settings refused: %s", ", ".join(sorted(refused)[:20]))
        self.prompt_panel.load(s)
        self.canvas.fit()

    def restore_recovered(self, path: Path) -> None:
        """Load an autosave; the document stays 'unsaved' and keeps its original file name."""
        from studio.io.project import load_project

        stamp = load_project(path).extra.get("autosave")
        original = stamp.get("path") if isinstance(stamp, dict) else None
        original = original if isinstance(original, str) else None
        open_document(self.document, path)
        self.document.path = original
        self.document.undo_stack.resetClean()
        self._after_open()
        self.statusBar().showMessage("Restored the autosaved work.", 8000)

    # ---- import / export ------------------------------------------------------------------
    def import_layer(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import image", "", IMAGE_FILTER)
        if path:
            try:
                import_image_layer(self.document, Path(path))
            except StudioError as exc:
                self._fail(exc)

    def import_labels(self, path: str | None = None) -> None:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Import label map", "", IMAGE_FILTER)
        if not path:
            return
        try:
            _layer, mapping = import_label_png(
                self.document, Path(path), self.document.default_palette()
            )
        except StudioError as exc:
            self._fail(exc)
            return
        if mapping is not None and mapping.unmatched_pixels:
            lines = [
                f"RGB {rgb}: {count} pixels, first at x={x}, y={y}"
                for rgb, count, (x, y) in mapping.unmatched_colors[:50]
            ]
            self.banner.show_error(
                f"{len(mapping.unmatched_colors)} colours ({mapping.unmatched_pixels} pixels) "
                f"match no class of {self.document.default_palette().name}; they were left "
                "unlabeled.",
                "\n".join(lines),
            )

    def export_labels(self, path: str | None = None) -> None:
        layer = self.document.active_layer
        if layer is None or layer.kind != LABEL:
            self.banner.show_error("Choose a label layer to export.")
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export labels", "", "PNG (*.png)")
        if path:
            try:
                export_label_png(layer, Path(path))
            except (OSError, StudioError) as exc:
                self.banner.show_error("Could not export the label map.", str(exc))

    def files_dropped_on_canvas(self, paths: list[str]) -> None:
        """Images become layers; a dropped project opens instead."""
        for path in paths:
            if path.lower().endswith(".studio"):
                self.open_file(path)
                return
            self.import_layer(path)

    # ---- selection and masks --------------------------------------------------------------
    def select_all(self) -> None:
        d = self.document
        d.set_selection(np.ones((d.height, d.width), bool), "Select all")

    def deselect(self) -> None:
        self.document.set_selection(None, "Deselect")

    def selection_to_mask(self) -> None:
        sel = self.document.selection
        if sel is None:
            self.statusBar().showMessage("Nothing is selected.", 4000)
            return
        self.document.add_mask_layer("Mask from selection", sel.astype(np.uint8) * 255)

    def clear_selection_contents(self) -> None:
        d, layer = self.document, self.document.active_layer
        if d.selection is None or layer is None or layer.locked:
            self.statusBar().showMessage("Select something on an unlocked layer first.", 4000)
            return
        new = layer.pixels.copy()
        sel = d.selection[: layer.height, : layer.width]
        new[sel] = 0
        d.replace_pixels(layer, new, f"Clear on {layer.name}")

    def mask_operation(self, name: str) -> None:
        layer = self.document.active_layer
        if layer is None or layer.kind != MASK:
            self.statusBar().showMessage("Choose a mask layer first.", 4000)
            return
        ops = {
            "invert": (invert_mask, "Invert mask"),
            "grow": (lambda m: grow_mask(m, MASK_STEP), "Grow mask"),
            "shrink": (lambda m: shrink_mask(m, MASK_STEP), "Shrink mask"),
            "feather": (lambda m: feather_mask(m, FEATHER), "Feather mask"),
        }
        op, text = ops[name]
        self.document.replace_pixels(layer, op(layer.pixels), text)


def settings_dict(settings) -> dict:
    """The generation settings a project file keeps (JSON values)."""
    from dataclasses import asdict

    from studio.session.settings import NOT_STORED

    return {k: v for k, v in asdict(settings).items() if k not in NOT_STORED}
