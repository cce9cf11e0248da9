"""The one generation thread: owns the engine and device, runs queued jobs, streams previews."""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
from collections import OrderedDict, deque
from dataclasses import replace
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from studio.errors import Cancelled, StudioError
from studio.worker.jobs import Job, JobState
from studio.worker.mailbox import Mailbox

log = logging.getLogger(__name__)
PREVIEW_INTERVAL_S = 0.05  # at most ~20 previews per second reach the GUI
KEEP_ENDED = 64  # ended jobs whose final state `job(id)` can still tell (without requests)


class Engine(Protocol):
    def run(self, request: Any, on_step: Any, cancel: threading.Event) -> Any: ...


class GenerationWorker(QObject):
    """Lives in the GUI thread; its jobs run on one background thread. Signals arrive queued."""

    job_queued = Signal(int)
    job_started = Signal(int)
    step_previewed = Signal(int, object)  # job id, StepPreview (throttled, newest wins)
    job_finished = Signal(int, object)  # job id, GenerationResult
    job_cancelled = Signal(int, object)  # job id, draft GenerationResult or None
    job_failed = Signal(int, str, str)  # job id, message, details
    job_removed = Signal(int)  # job id: taken out of the queue before it ran (never started)
    queue_changed = Signal()
    _preview_posted = Signal()

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._lock = threading.Condition()
        self._queue: deque[Job] = deque()
        self._current: Job | None = None
        self._ended: OrderedDict[int, Job] = OrderedDict()  # newest last, final states
        self._cancel = threading.Event()
        self._stopping = False
        self._ids = itertools.count(1)
        self._mailbox = Mailbox()
        self._gui_running: int | None = None
        self._last_delivery = 0.0
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.timeout.connect(self._deliver_preview)
        self._preview_posted.connect(self._on_preview_posted)
        self.job_started.connect(self._track_started)
        for signal in (self.job_finished, self.job_cancelled):
            signal.connect(self._track_done)
        self.job_failed.connect(self._track_done)
        self._thread = threading.Thread(target=self._loop, name="studio-generation", daemon=True)
        self._thread.start()

    # ---- GUI-thread API -------------------------------------------------------------------
    def submit(self, request: Any, label: str = "", channel: str = "") -> int:
        """Queue a job; with a `channel`, waiting jobs of that channel are dropped (stale)."""
        job = Job(next(self._ids), request, label, channel=channel)
        with self._lock:
            if self._stopping:
                raise RuntimeError("the generation thread has been shut down")
            stale = [j for j in self._queue if channel and j.channel == channel]
            for old in stale:
                self._queue.remove(old)
                self._end(old, JobState.CANCELLED)
            self._queue.append(job)
            self._lock.notify()
        for old in stale:
            self.job_removed.emit(old.id)
        self.job_queued.emit(job.id)
        self.queue_changed.emit()
        return job.id

    def jobs(self) -> list[Job]:
        """The running job (if any) followed by the queued ones, in order."""
        with self._lock:
            return ([self._current] if self._current else []) + list(self._queue)

    def job(self, job_id: int) -> Job | None:
        """The job as it is now (queued, running or one of the last ended ones), else None."""
        with self._lock:
            live = ([self._current] if self._current else []) + list(self._queue)
            found = next((j for j in live if j.id == job_id), None)
            return found or self._ended.get(job_id)

    def remove(self, job_id: int) -> bool:
        """Take a queued job out of the queue (it ends cancelled); False if it is not waiting."""
        with self._lock:
            for job in self._queue:
                if job.id == job_id:
                    self._queue.remove(job)
                    self._end(job, JobState.CANCELLED)
                    break
            else:
                return False
        self.job_removed.emit(job_id)
        self.queue_changed.emit()
        return True

    def cancel(self, job_id: int | None = None) -> bool:
        """Stop the running job (or the given one: a queued job is removed)."""
        with self._lock:
            current = self._current
            if current is not None and job_id in (None, current.id):
                self._cancel.set()
                return True
        return job_id is not None and self.remove(job_id)

    def resident_bytes(self, path: str, device: str, dtype: str) -> int:
        """Bytes of a model the engine already holds (0 for engines that cannot tell)."""
        probe = getattr(self._engine, "resident_bytes", None)
        return int(probe(path, device, dtype)) if probe is not None else 0

    def is_busy(self) -> bool:
        with self._lock:
            return self._current is not None or bool(self._queue)

    def shutdown(self, timeout: float = 2.0) -> bool:
        """Cancel everything and join the thread; True if it ended within `timeout` seconds."""
        with self._lock:
            self._stopping = True
            for job in self._queue:
                self._end(job, JobState.CANCELLED)
            self._queue.clear()
            self._cancel.set()
            self._lock.notify_all()
        self._throttle.stop()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ---- generation thread ----------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                job = self._queue.popleft().with_state(JobState.RUNNING)
                self._current = job
                self._cancel.clear()
            self.job_started.emit(job.id)
            self.queue_changed.emit()
            self._run(job)
            self.queue_changed.emit()

    def _end(self, job: Job, state: JobState) -> None:
        """Record a job's final state (under the lock); the running job is no longer current."""
        self._ended[job.id] = replace(job, state=state, request=None)  # free the request's arrays
        while len(self._ended) > KEEP_ENDED:
            self._ended.popitem(last=False)
        if self._current is not None and self._current.id == job.id:
            self._current = None

    def _ended_as(self, job: Job, state: JobState) -> None:
        with self._lock:
            self._end(job, state)

    def _run(self, job: Job) -> None:
        def on_step(preview: Any) -> None:
            if self._mailbox.put((job.id, preview)):
                self._preview_posted.emit()

        log.info("job %d started: %s", job.id, job.label)
        try:
            result = self._engine.run(job.request, on_step, self._cancel)
        except Cancelled:  # an engine may stop by raising: that is cancelling, not failing
            result = None
        except StudioError as exc:
            log.warning("job %d failed: %s (%s)", job.id, exc.message, exc.details)
            self._ended_as(job, JobState.FAILED)
            self.job_failed.emit(job.id, exc.message, exc.details)
            return
        except Exception as exc:  # the worker survives every failed job
            log.exception("job %d failed", job.id)
            message = f"Generation failed: {type(exc).__name__}: {exc}"
            self._ended_as(job, JobState.FAILED)
            self.job_failed.emit(job.id, message, traceback.format_exc())
            return
        if result is None or getattr(result, "draft", False):
            log.info("job %d cancelled (draft kept: %s)", job.id, result is not None)
            self._ended_as(job, JobState.CANCELLED)
            self.job_cancelled.emit(job.id, result)
        else:
            log.info("job %d finished", job.id)
            self._ended_as(job, JobState.FINISHED)
            self.job_finished.emit(job.id, result)

    # ---- preview delivery (GUI thread) ----------------------------------------------------
    def _on_preview_posted(self) -> None:
        wait = PREVIEW_INTERVAL_S - (time.monotonic() - self._last_delivery)
        if wait > 0:
            if not self._throttle.isActive():
                self._throttle.start(max(1, int(wait * 1000)))
            return
        self._deliver_preview()

    def _deliver_preview(self) -> None:
        item = self._mailbox.take()
        if item is None:
            return
        job_id, preview = item
        if job_id != self._gui_running:
            return  # the job ended meanwhile; its result supersedes the preview
        if (
            getattr(preview, "image", None) is not None
        ):  # a phase-only update ("loading") takes no slot, so
            self._last_delivery = time.monotonic()  # the first picture is never held back
        self.step_previewed.emit(job_id, preview)

    def _track_started(self, job_id: int) -> None:
        self._gui_running = job_id
        self._last_delivery = 0.0  # a new job's first picture never waits on the last job's
        # The mailbox may hold this job's first preview, posted without a notification while
        # the last job's throttled item was still waiting: hand it over once every slot of
        # job_started has run (stale ones drop).
        self._throttle.start(0)

    def _track_done(self, job_id: int, *args: Any) -> None:
        if self._gui_running == job_id:
            self._gui_running = None
            self._throttle.stop()  # its result supersedes a preview still waiting
