"""Exports a recorded run on a short-lived background thread, reporting progress by signal."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.engine.requests import RunRecord
from studio.errors import Cancelled, StudioError
from studio.io.run_export import export_run

EXPORT_THREAD = "studio-export"


class RunExporter(QObject):
    """One export at a time; encoding runs off the GUI thread (it never touches the device)."""

    progressed = Signal(int, int)  # frames done, frames in all
    finished = Signal(str)  # path written
    failed = Signal(str, str)  # message, details
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, record: RunRecord, path: str, view: str = "x0", fps: float = 8.0) -> bool:
        """Begin writing `record` to `path`; False if an export is already running."""
        if self.busy():
            return False
        self._cancel = threading.Event()
        args = (record, Path(path), view, fps, self._cancel)
        self._thread = threading.Thread(target=self._work, args=args, name=EXPORT_THREAD)
        self._thread.daemon = True
        self._thread.start()
        return True

    def _work(self, record, path, view, fps, cancel) -> None:
        try:
            out = export_run(record, path, view, fps, progress=self.progressed.emit, cancel=cancel)
        except Cancelled:
            self.cancelled.emit()
        except StudioError as exc:
            self.failed.emit(exc.message, exc.details)
        except (OSError, ValueError) as exc:
            self.failed.emit(f"Could not export the run: {exc}", repr(exc))
        else:
            self.finished.emit(str(out))

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float = 5.0) -> bool:
        """Join the export thread (for closing the window and tests); True when it ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.busy()
