"""Saving off the GUI thread: a cheap snapshot here, encoding and writing on one file thread.

The GUI thread only freezes the layers' arrays (copy-on-write, see Layer.snapshot) and builds
the plain ProjectData; PNG encoding, zipping and the atomic write run on the "studio-files"
thread, one write at a time, in order. Results come back as queued signals. A write in flight
survives the window closing: `wait()` finishes it, and the atomic write keeps the previous file
whole if the process dies first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.document.document import Document
from studio.document.files import project_from_document
from studio.errors import StudioError
from studio.io.project import ProjectData, save_project

log = logging.getLogger(__name__)
Progress = Callable[[float], None]  # fraction 0..1 of the write done
PROGRESS_AFTER_S = 0.5  # writes shorter than this show no progress


def snapshot_project(doc: Document) -> ProjectData:
    """ProjectData sharing the document's (now frozen) arrays: O(layers), no pixel copy."""
    for layer in doc.layers:
        layer.snapshot()
    return project_from_document(doc)


class BackgroundSaver(QObject):
    """Runs writes on one background thread; reports progress and the outcome on the GUI thread."""

    started = Signal(str)  # label
    progressed = Signal(str, float)  # label, fraction done (only for writes longer than ~0.5 s)
    finished = Signal(str, str, str)  # label, path, error message ("" when it worked)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="studio-files")
        self._pending: list[Future] = []
        self._lock = threading.Lock()
        self._closed = False
        self.last_thread: str = ""  # the thread the last write ran on (for tests and logs)

    def submit(self, label: str, path: Path, write: Callable[[Path, Progress], None]) -> Future:
        """Run `write(path, progress)` in the background; errors are reported, never raised.

        After shutdown (the window closed) the write runs here and now instead."""
        if self._closed:
            future: Future = Future()
            self._run(label, Path(path), write)
            future.set_result(None)
            return future
        future = self._pool.submit(self._run, label, Path(path), write)
        with self._lock:
            self._pending = [f for f in self._pending if not f.done()] + [future]
        self.started.emit(label)
        return future

    def save_project(self, label: str, path: Path, data: ProjectData) -> Future:
        """Write a snapshot (snapshot_project) as a .studio file in the background."""
        return self.submit(label, path, lambda p, progress: save_project(p, data, progress))

    def busy(self) -> bool:
        with self._lock:
            return any(not f.done() for f in self._pending)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted write ended (at quit); False if `timeout` ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                future.result(left)
            except TimeoutError:
                return False
        return True

    def shutdown(self) -> None:
        """Finish what was submitted, then stop the thread."""
        self._closed = True
        self._pool.shutdown(wait=True)

    def _run(self, label: str, path: Path, write: Callable[[Path, Progress], None]) -> None:
        self.last_thread = threading.current_thread().name
        started = time.monotonic()

        def progress(fraction: float) -> None:
            if time.monotonic() - started >= PROGRESS_AFTER_S:
                self.progressed.emit(label, float(fraction))

        try:
            write(path, progress)
        except (OSError, StudioError, ValueError) as exc:
            details = getattr(exc, "details", "") or str(exc)
            log.warning("%s to %s failed: %s", label, path, details)
            self.finished.emit(label, str(path), details or type(exc).__name__)
            return
        log.debug("%s: wrote %s in %.2f s", label, path, time.monotonic() - started)
        self.finished.emit(label, str(path), "")
