"""Runs hub downloads on a thread of their own (network is never the generation thread)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.engine.hub.download import (
    DownloadControl,
    download,
    plan_download,
)
from studio.errors import Cancelled, StudioError

THREAD_NAME = "studio-download"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DownloadRequest:
    """What to fetch: a repo (+ file patterns or one file) into a models folder."""

    repo_id: str
    models_dir: str
    allow_patterns: tuple[str, ...] | None = None
    filename: str | None = None
    revision: str | None = None
    variant: str | None = "fp16"
    label: str = ""  # what the artist reads ("SD-Turbo (fast on CPUs)"); default the repo id

    @property
    def title(self) -> str:
        return self.label or self.repo_id


class DownloadManager(QObject):
    """One download at a time; pause/resume/cancel; signals reach the GUI as queued calls.

    After a failure (network gone, disk full) the partial files stay in the staging folder and
    `retry()` continues them; `cancel()` removes them.
    """

    started = Signal(object)  # DownloadRequest
    planned = Signal(object, object)  # DownloadRequest, DownloadPlan (files, sizes)
    progress = Signal(object)  # DownloadProgress
    paused = Signal(bool)  # True when paused, False when running again
    finished = Signal(object, str)  # DownloadRequest, installed path
    failed = Signal(object, str, str)  # DownloadRequest, message, details
    cancelled = Signal(object, bool)  # DownloadRequest, partial files kept (app quitting)

    def __init__(
        self,
        parent: QObject | None = None,
        endpoint: str | None = None,
        free_space: Callable[[Path], int] | None = None,
    ) -> None:
        super().__init__(parent)
        self._endpoint = endpoint  # None: HF_ENDPOINT, else huggingface.co
        self._free_space = free_space
        self._control = DownloadControl()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._active = False
        self.current: DownloadRequest | None = None
        self.last_failed: DownloadRequest | None = None
        self.last_plan = None  # DownloadPlan of the newest download, once planned

    @property
    def busy(self) -> bool:
        """A download runs (cleared just before its last signal, so a slot may start another)."""
        return self._active

    @property
    def is_paused(self) -> bool:
        return self.busy and self._control.paused

    def start(self, request: DownloadRequest) -> bool:
        """Begin a download; False (nothing done) if one is already running."""
        with self._lock:
            if self.busy:
                return False
            self.current, self.last_failed, self.last_plan = request, None, None
            self._control = DownloadControl()
            self._active = True
            self._thread = threading.Thread(
                target=self._run, args=(request, self._control), name=THREAD_NAME, daemon=True
            )
            self._thread.start()
        return True

    def pause(self) -> None:
        if self.busy and not self._control.paused:
            self._control.pause()
            self.paused.emit(True)

    def resume(self) -> None:
        if self.busy and self._control.paused:
            self._control.resume()
            self.paused.emit(False)

    def retry(self) -> bool:
        """Continue the last failed download from its partial files."""
        request = self.last_failed
        return request is not None and self.start(request)

    def cancel(self) -> None:
        """Stop and delete the partial files (running, paused, or the last failed one)."""
        if self.busy:
            self._control.cancel()
        elif self.last_failed is not None:
            from studio.engine.hub.download import staging_dir

            request, self.last_failed = self.last_failed, None
            if self.last_plan is not None:
                _remove_staging(staging_dir(Path(request.models_dir), self.last_plan.name))
            self.cancelled.emit(request, False)

    def wait(self, timeout: float = 10.0) -> bool:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Before the app quits: stop the transfer but keep the partial files for next time."""
        if self.busy:
            self._control.cancel(keep_partial=True)
        return self.wait(timeout)

    def _run(self, request: DownloadRequest, control: DownloadControl) -> None:
        """The thread body: `_active` goes False right before the one closing signal."""
        self.started.emit(request)
        try:
            plan = plan_download(
                request.repo_id,
                revision=request.revision,
                allow_patterns=request.allow_patterns,
                filename=request.filename,
                endpoint=self._endpoint,
                variant=request.variant,
            )
            self.last_plan = plan
            self.planned.emit(request, plan)
            path = download(
                plan,
                Path(request.models_dir),
                on_progress=self.progress.emit,
                control=control,
                free_space=self._free_space,
            )
        except Cancelled as stop:
            self._active = False
            self.cancelled.emit(request, stop.kept)
            return
        except StudioError as exc:
            self.last_failed, self._active = request, False
            self.failed.emit(request, exc.message, exc.details)
            return
        except Exception as exc:  # the thread's top: report it, never die silently
            log.exception("download of %s failed", request.repo_id)
            self.last_failed, self._active = request, False
            self.failed.emit(request, f"The download of {request.title} failed.", repr(exc))
            return
        self._active = False
        self.finished.emit(request, str(path))


def _remove_staging(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
