"""Autosave: the document goes to the recovery folder every minute and after each result."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from studio.document.document import Document
from studio.io.recovery import autosave_path
from studio.session.saver import BackgroundSaver, snapshot_project

log = logging.getLogger(__name__)
LABEL = "Autosave"


class Autosaver(QObject):
    """Saves only when something changed since the last autosave; never touches undo state."""

    saved = Signal(str)  # path

    def __init__(
        self,
        document: Document,
        interval_s: float = 60.0,
        settings_source: Callable[[], dict] | None = None,
        parent: QObject | None = None,
        *,
        saver: BackgroundSaver,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.settings_source = settings_source
        self.dirty = False
        self.last_saved: float | None = None
        self.saver = saver  # the window's one file thread (built by the composition root)
        self.saver.finished.connect(self._on_finished)
        self._in_flight = False
        self._again = False
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
        """Snapshot the document now and write the recovery copy in the background.

        The GUI thread only freezes the layers (copy-on-write); `saved` is emitted once the
        file is on disk. A request while a write is in flight runs once that one ends.
        """
        if self._in_flight:
            self._again = True
            return True
        data = snapshot_project(self.document)
        if self.settings_source is not None:
            data.settings = self.settings_source()
        data.extra = {"autosave": {"time": time.time(), "path": self.document.path}}
        self.dirty = False  # edits from now on make it dirty again
        self._in_flight = True
        self.saver.save_project(LABEL, autosave_path(), data)
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for the write in flight (at quit); False if `timeout` ran out."""
        return self.saver.wait(timeout)

    def save_at_quit(self) -> None:
        """Write the recovery copy now and wait for it (the window is closing)."""
        self.flush()
        self._in_flight = self._again = False  # the finished signal will not be delivered
        self.save_now()
        self.flush()

    def _on_finished(self, label: str, path: str, error: str) -> None:
        if label != LABEL:
            return
        self._in_flight = False
        if error:
            self.dirty = True  # try again next time
        else:
            self.last_saved = time.time()
            self.saved.emit(path)
            log.debug("autosaved to %s", path)
        if self._again:
            self._again = False
            self.save_if_dirty()
