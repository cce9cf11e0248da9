"""The model manager window (Models → Model manager…): installed models, add from disk, tabs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.engine.models.catalog import list_installed
from studio.engine.models.checkpoints import WEIGHT_SUFFIXES
from studio.io.paths import user_models_dir
from studio.session.model_import import ModelImporter
from studio.ui.models.installed_tab import InstalledTab, move_to_trash
from studio.units import format_bytes, format_clock

WEIGHT_FILTER = f"Model files ({' '.join('*' + s for s in WEIGHT_SUFFIXES)});;All files (*)"


class ModelManager(QWidget):
    """A non-modal window with tabs; Installed first, others (e.g. Download) via add_tab."""

    models_changed = Signal()  # something was added or removed: the model choosers re-scan
    forget_requested = Signal(str)  # an opened folder to drop from the session's lists
    closed = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        downloads: QWidget | None = None,
        extra_paths: Callable[[], list[str]] | None = None,
        places: dict[str, str] | None = None,
        models_dir: str | Path | None = None,
        *,
        importer: ModelImporter,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("ModelManager")
        self.setWindowTitle("Model manager")
        self.resize(980, 600)
        self.setAcceptDrops(True)
        self._extra_paths = extra_paths or (lambda: [])
        self._places = places  # None: the folders Studio looks in (io.paths)
        self.models_dir = Path(models_dir) if models_dir else user_models_dir()
        self.tabs = QTabWidget()
        self.installed = InstalledTab()
        self.tabs.addTab(self.installed, "Installed")
        self._downloads = downloads
        if downloads is not None:
            self.add_tab(downloads, "Download")
            if hasattr(downloads, "installed"):  # the DownloadPanel: its models join the list
                downloads.installed.connect(self._on_downloaded)
        self.importer = importer  # built by the composition root; adds run one at a time
        self._build_add_controls()
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 6, 6, 6)
        column.addWidget(self.tabs)
        self.installed.rescan_requested.connect(self.rescan)
        self.installed.removed.connect(self._on_removed)
        self.installed.forgotten.connect(self._on_forgotten)
        self.installed.convert_requested.connect(self._convert)
        keys = (("Delete", self.installed.remove_current), ("F5", self.rescan),
                (QKeySequence.StandardKey.Find, self.installed.search_edit.setFocus),
                (QKeySequence.StandardKey.Open, self.choose_files),
                (QKeySequence.StandardKey.Close, self.close))  # fmt: skip
        for key, slot in keys:
            QShortcut(QKeySequence(key), self, slot)
        self.add_file_button.setToolTip(self.add_file_button.toolTip() + " (Ctrl+O)")
        self.installed.remove_button.setToolTip(
            self.installed.remove_button.toolTip() + " (Delete)"
        )
        self.installed.rescan_button.setToolTip(self.installed.rescan_button.toolTip() + " (F5)")
        self.rescan()

    def _build_add_controls(self) -> None:
        self.add_file_button = QPushButton("Add file…")
        self.add_file_button.setToolTip(
            "Add a .safetensors file (or a .ckpt/.pt/.pth/.bin, converted to .safetensors "
            "after a weights-only load) to your models folder"
        )
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.setToolTip("Add a diffusers model folder to your models folder")
        self.move_combo = QComboBox()
        self.move_combo.addItem("Copy into the models folder", False)
        self.move_combo.addItem("Move into the models folder", True)
        self.move_combo.setToolTip(
            "Copy leaves the original where it is; Move takes it away (a converted or "
            "copied-across-disks original goes to the trash)"
        )
        row = self.installed.buttons
        for i, widget in enumerate((self.add_file_button, self.add_folder_button, self.move_combo)):
            row.insertWidget(i, widget)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop adding; the partial copy is removed")
        self.progress_label = QLabel()
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_label, 1)
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.cancel_button)
        self.progress_widget = QWidget()
        self.progress_widget.setLayout(progress_row)
        self.progress_widget.setVisible(False)
        self.installed.layout().addWidget(self.progress_widget)
        self.add_file_button.clicked.connect(lambda: self.choose_files())
        self.add_folder_button.clicked.connect(lambda: self.choose_folder())
        self.cancel_button.clicked.connect(self.importer.cancel)
        self.importer.started.connect(self._on_import_started)
        self.importer.progress.connect(self._on_import_progress)
        self.importer.added.connect(self._on_added)
        self.importer.failed.connect(self._on_import_failed)
        self.importer.cancelled.connect(self._on_import_cancelled)
        self.importer.idle.connect(self._on_import_idle)

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Another page of the manager (the Download tab); returns its index."""
        return self.tabs.addTab(widget, title)

    def rescan(self) -> None:
        """Read the model folders again and show what is there."""
        self.installed.set_entries(list_installed(extra_paths=self._extra_paths(),
                                                  places=self._places))  # fmt: skip

    def changed(self) -> None:
        """After any change on disk: re-list here and let the Generate dock re-scan."""
        self.rescan()
        self.models_changed.emit()

    def _on_removed(self, _path: str) -> None:
        self.changed()

    def _on_forgotten(self, path: str) -> None:
        self.forget_requested.emit(path)  # the owner drops it from extra_paths first
        self.changed()

    # ---- add from disk --------------------------------------------------------------------
    def add_paths(self, paths: list[str], move: bool | None = None) -> None:
        """Recognise and add files/folders off the GUI thread (progress below the list)."""
        if not paths:
            return
        move = bool(self.move_combo.currentData()) if move is None else move
        self.installed.status_label.setText("")
        self.progress_widget.setVisible(True)
        self.progress_bar.setRange(0, 0)
        self.progress_label.setText("Inspecting…")
        self.importer.add([str(p) for p in paths], str(self.models_dir), move)

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add model files", str(Path.home()),
                                                WEIGHT_FILTER)  # fmt: skip
        self.add_paths(files)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a model folder", str(Path.home()))
        self.add_paths([folder] if folder else [])

    def _convert(self, path: str) -> None:
        self.progress_widget.setVisible(True)
        self.progress_bar.setRange(0, 0)
        self.progress_label.setText("Inspecting…")
        self.importer.convert([path])

    def _on_import_started(self, text: str) -> None:
        self.progress_label.setText(text)

    def _on_import_progress(self, payload) -> None:
        done, total, eta = payload
        scale = 1 if total < 2**31 else 2**20  # QProgressBar holds ints: count in MB past 2 GB
        self.progress_bar.setRange(0, max(1, total // scale))
        self.progress_bar.setValue(done // scale)
        left = "" if eta is None else f" · ETA {format_clock(eta)}"
        self.progress_bar.setFormat(f"{format_bytes(done)} of {format_bytes(total)}{left}")

    def _on_added(self, info, leftovers) -> None:
        text = f"Added {info.name}."
        if leftovers:  # moved or converted: the original goes to the trash (recoverable)
            trashed = all(move_to_trash(p) for p in leftovers if Path(p).exists())
            text += (
                " The original went to the trash."
                if trashed
                else (
                    f" The original could not be moved to the trash; it is still at {leftovers[0]}."
                )
            )
        self.installed.status_label.setText(text)
        self.installed.status_label.setToolTip(info.path)
        self.changed()
        self.installed.select(info.path)

    def _on_downloaded(self, path: str) -> None:
        self.changed()
        self.installed.select(path)
        self.installed.status_label.setText(f"Downloaded {Path(path).name}.")

    def _on_import_failed(self, message: str, details: str) -> None:
        self.installed.status_label.setText(message)
        self.installed.status_label.setToolTip(details)

    def _on_import_cancelled(self, message: str) -> None:
        self.installed.status_label.setText(message)
        self.installed.status_label.setToolTip("")

    def _on_import_idle(self) -> None:
        if not self.importer.busy:
            self.progress_widget.setVisible(False)

    def dragEnterEvent(self, event) -> None:
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """Files and folders dropped anywhere on the window are added (copy or move, as set)."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Stop a running import (its partial copy is removed) and a download (its partial
        files are kept for next time) before the app quits."""
        self.importer.cancel()
        stopped = getattr(self._downloads, "shutdown", lambda t: True)(timeout)
        return self.importer.wait(timeout) and stopped

    def closeEvent(self, event) -> None:
        """Closing only hides the window: an import keeps going and shows when reopened."""
        self.closed.emit()
        super().closeEvent(event)
