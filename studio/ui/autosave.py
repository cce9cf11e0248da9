"""Autosave: the open document goes to the recovery folder every minute and after each result."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from studio.document.document import Document
from studio.document.files import project_from_document
from studio.errors import StudioError
from studio.io.project import save_project
from studio.io.recovery import autosave_path

log = logging.getLogger(__name__)


class Autosaver(QObject):
    """Saves only when something changed since the last autosave; never touches undo state."""

    saved = Signal(str)  # path

    def __init__(
        self,
        document: Document,
        interval_s: float = 60.0,
        settings_source: Callable[[], dict] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.settings_source = settings_source
        self.dirty = False
        self.last_saved: float | None = None
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.save_if_dirty)
        self.set_interval(interval_s)
        for signal in (
            document.layers_changed,
            document.pixels_changed,
            document.size_changed,
            document.undo_stack.indexChanged,
        ):
            signal.connect(self._mark)

    def _mark(self, *_args) -> None:
        self.dirty = True

    def set_interval(self, seconds: float) -> None:
        self.timer.start(max(100, int(seconds * 1000)))

    def stop(self) -> None:
        self.timer.stop()

    def save_if_dirty(self) -> bool:
        return self.save_now() if self.dirty else False

    def save_now(self) -> bool:
        """Write the recovery copy (atomically); errors are logged, work continues."""
        data = project_from_document(self.document)
        if self.settings_source is not None:
            data.settings = self.settings_source()
        data.extra = {"autosave": {"time": time.time(), "path": self.document.path}}
        path = autosave_path()
        try:
            save_project(path, data)
        except (OSError, StudioError) as exc:
            log.warning("autosave to %s failed: %s", path, exc)
            return False
        self.dirty = False
        self.last_saved = time.time()
        self.saved.emit(str(path))
        log.debug("autosaved to %s", path)
        return True
