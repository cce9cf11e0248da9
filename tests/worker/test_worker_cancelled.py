"""An engine that stops by raising Cancelled ends its job cancelled, never failed."""

from __future__ import annotations

import threading

from studio.errors import Cancelled
from studio.worker.jobs import JobState
from studio.worker.worker import GenerationWorker


class StopsByRaising:
    """Waits for cancel, then raises studio.errors.Cancelled as a family's engine may."""

    def run(self, request, on_step, cancel: threading.Event):
        cancel.wait(5)
        raise Cancelled("stopped at step 1")


def test_a_raised_cancelled_is_a_cancelled_job_not_a_failure(qtbot):
    worker = GenerationWorker(StopsByRaising())
    failed = []
    worker.job_failed.connect(lambda *args: failed.append(args))
    try:
        with qtbot.waitSignal(worker.job_started):
            job_id = worker.submit("request")
        with qtbot.waitSignal(worker.job_cancelled) as cancelled:
            worker.cancel()
        assert cancelled.args == [job_id, None]
        assert failed == [] and worker.job(job_id).state is JobState.CANCELLED
    finally:
        assert worker.shutdown(2.0)
