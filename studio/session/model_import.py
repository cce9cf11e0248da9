"""Adds models from disk on a thread of its own (never the generation thread), one at a time."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.engine.models.importing import (
    ImportPlan,
    install,
    plan_conversion,
    plan_import,
)
from studio.errors import Cancelled, StudioError

THREAD_NAME = "studio-model-import"
log = logging.getLogger(__name__)


class ModelImporter(QObject):
    """Queue of paths to add; signals reach the GUI thread as queued connections."""

    started = Signal(str)  # what is being added, in words
    progress = Signal(object)  # (bytes done, bytes total, seconds left or None)
    added = Signal(object, object)  # ModelInfo, tuple of originals to trash (moved/converted)
    failed = Signal(str, str)  # message, details
    cancelled = Signal(str)  # what was stopped, in words (not an error: nothing was added)
    idle = Signal()  # the queue ran empty

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: list[tuple[str, str | None, bool]] = []  # (source, models folder, move)
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = False  # set and cleared under the lock, with the queue

    @property
    def busy(self) -> bool:
        return self._running

    def add(self, paths: list[str], models_dir: str | None, move: bool = False) -> None:
        """Queue paths to be added to `models_dir` (copied, or moved when `move`); None
        converts each in place instead."""
        with self._lock:
            self._queue += [(p, models_dir, move) for p in paths]
            if self._running:
                return
            self._running = True
            self._cancel.clear()
            self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
            self._thread.start()

    def convert(self, paths: list[str]) -> None:
        """Queue installed pickled files to be converted to .safetensors where they are."""
        self.add(paths, None, False)

    def cancel(self) -> None:
        """Stop the running import (its partial copy is removed) and drop the queue."""
        with self._lock:
            self._queue.clear()
        self._cancel.set()

    def wait(self, timeout: float = 10.0) -> bool:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def _next(self) -> tuple[str, str | None, bool] | None:
        with self._lock:
            if self._queue:
                return self._queue.pop(0)
            self._running = False  # a later add() starts a new thread
            return None

    def _run(self) -> None:
        while (job := self._next()) is not None:
            source, models_dir, move = job
            try:
                if models_dir is None:
                    plan = plan_conversion(source)
                else:
                    plan = plan_import(source, models_dir)
                self.started.emit(_describe(plan, move))
                result = install(plan, move, self._reporter(), self._cancel.is_set)
            except Cancelled as exc:
                self.cancelled.emit(exc.message)
                with self._lock:
                    self._queue.clear()
                continue
            except StudioError as exc:
                self.failed.emit(exc.message, exc.details)
                continue
            except OSError as exc:  # disk full, permissions: said plainly, nothing was added
                self.failed.emit(f"Could not add {Path(source).name}: {exc.strerror}.", str(exc))
                continue
            except Exception as exc:  # the thread's top: report, keep serving the queue
                log.exception("adding %s failed", source)
                self.failed.emit(f"Could not add {Path(source).name}.", repr(exc))
                continue
            self.added.emit(result.info, result.leftovers)
        self.idle.emit()

    def _reporter(self):
        start = time.monotonic()
        last = [0.0]

        def report(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] < 0.1 and done < total:  # at most ~10 updates a second
                return
            last[0] = now
            elapsed = now - start
            eta = (total - done) * elapsed / done if done and elapsed > 0.5 else None
            self.progress.emit((done, total, eta))

        return report


def _describe(plan: ImportPlan, move: bool) -> str:
    verb = "Converting" if plan.convert else ("Moving" if move else "Copying")
    name = Path(plan.source).name
    into = f" to {Path(plan.target).name}" if plan.convert else ""
    where = "" if plan.in_place else " into the models folder"
    return f"{verb} {name}{into} ({plan.kind_label}){where}…"
