"""The model manager window (Models → Model manager…): installed models, add from disk, tabs."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from studio.engine.catalog import list_installed
from studio.ui.installed_tab import InstalledTab


class ModelManager(QWidget):
    """A non-modal window with tabs; Installed first, others (e.g. Download) via add_tab."""

    models_changed = Signal()  # something was added or removed: the model choosers re-scan

    def __init__(
        self,
        parent: QWidget | None = None,
        downloads: QWidget | None = None,
        extra_paths: Callable[[], list[str]] | None = None,
        places: dict[str, str] | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("ModelManager")
        self.setWindowTitle("Model manager")
        self.resize(980, 600)
        self._extra_paths = extra_paths or (lambda: [])
        self._places = places  # None: the folders Studio looks in (io.paths)
        self.tabs = QTabWidget()
        self.installed = InstalledTab()
        self.tabs.addTab(self.installed, "Installed")
        if downloads is not None:
            self.add_tab(downloads, "Download")
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 6, 6, 6)
        column.addWidget(self.tabs)
        self.installed.rescan_requested.connect(self.rescan)
        self.installed.removed.connect(self._on_removed)
        self.rescan()

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
