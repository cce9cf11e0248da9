"""The generation thread: states and signal order, queue, cancel, failures, throttled previews."""

from __future__ import annotations

import threading
import time

import pytest

from studio.engine.requests import GenerationRequest
from studio.errors import InvalidRequestError
from studio.worker.jobs import JobState
from studio.worker.worker import GenerationWorker
from tests.fakes import FakeEngine


def req(seed=1, **kw) -> GenerationRequest:
    return GenerationRequest(model_path="fake", prompt="p", seed=seed, width=64, height=64, **kw)


@pytest.fixture
def make_worker(qapp):
    made = []

    def factory(engine):
        worker = GenerationWorker(engine)
        made.append(worker)
        return worker

    yield factory
    for worker in made:
        assert worker.shutdown(2.0)


def record(worker):
    events = []
    worker.job_queued.connect(lambda i: events.append(("queued", i)))
    worker.job_started.connect(lambda i: events.append(("started", i)))
    worker.step_previewed.connect(lambda i, p: events.append(("step", i, p.step)))
    worker.job_finished.connect(lambda i, r: events.append(("finished", i)))
    worker.job_cancelled.connect(lambda i, r: events.append(("cancelled", i, r)))
    worker.job_failed.connect(lambda i, m, d: events.append(("failed", i, m)))
    return events


def test_signal_order_for_one_job(qtbot, make_worker):
    worker = make_worker(FakeEngine(steps=3, step_delay=0.06))
    events = record(worker)
    with qtbot.waitSignal(worker.job_finished, timeout=5000):
        job = worker.submit(req())
    kinds = [e[0] for e in events]
    assert kinds[0] == "queued" and kinds[1] == "started" and kinds[-1] == "finished"
    steps = [e[2] for e in events if e[0] == "step"]
    assert steps == sorted(steps) and steps[-1] == 3  # previews in order, the last one shown
    assert all(e[1] == job for e in events)


def test_jobs_run_one_at_a_time_in_order(qtbot, make_worker):
    engine = FakeEngine(steps=2, step_delay=0.02)
    worker = make_worker(engine)
    finished = []
    worker.job_finished.connect(lambda i, r: finished.append((i, r.request.seed)))
    ids = [worker.submit(req(seed=s)) for s in (10, 20, 30)]
    qtbot.waitUntil(lambda: len(finished) == 3, timeout=5000)
    assert finished == list(zip(ids, (10, 20, 30), strict=True))
    assert not worker.is_busy()


def test_queued_job_can_be_removed(qtbot, make_worker):
    gate = threading.Event()
    engine = FakeEngine(steps=1, gate=gate)
    worker = make_worker(engine)
    first = worker.submit(req(seed=1))
    second = worker.submit(req(seed=2))
    third = worker.submit(req(seed=3))
    qtbot.waitUntil(lambda: worker.jobs() and worker.jobs()[0].state is JobState.RUNNING)
    assert [j.id for j in worker.jobs()] == [first, second, third]
    assert worker.remove(second)
    assert not worker.remove(first)  # running jobs are cancelled, not removed
    finished = []
    worker.job_finished.connect(lambda i, r: finished.append(i))
    gate.set()
    qtbot.waitUntil(lambda: len(finished) == 2, timeout=5000)
    assert finished == [first, third]
    assert [r.seed for r in engine.runs] == [1, 3]


def test_cancel_keeps_the_draft(qtbot, make_worker):
    worker = make_worker(FakeEngine(steps=50, step_delay=0.02))
    events = record(worker)
    worker.job_started.connect(lambda i: None)
    job = worker.submit(req())
    qtbot.waitUntil(lambda: any(e[0] == "step" and e[2] >= 2 for e in events), timeout=5000)
    with qtbot.waitSignal(worker.job_cancelled, timeout=5000) as blocker:
        assert worker.cancel()
    job_id, draft = blocker.args
    assert job_id == job and draft.draft and 2 <= draft.steps_done < 50
    assert "finished" not in [e[0] for e in events]


def test_a_failed_job_does_not_stop_the_next_one(qtbot, make_worker):
    engine = FakeEngine(steps=1, fail_with=InvalidRequestError("Width is wrong.", "w=70"))
    worker = make_worker(engine)
    with qtbot.waitSignal(worker.job_failed, timeout=5000) as failed:
        worker.submit(req())
    assert failed.args[1:] == ["Width is wrong.", "w=70"]
    engine.fail_with = ZeroDivisionError("boom")
    with qtbot.waitSignal(worker.job_failed, timeout=5000) as crashed:
        worker.submit(req())
    assert "ZeroDivisionError: boom" in crashed.args[1] and "Traceback" in crashed.args[2]
    engine.fail_with = None
    with qtbot.waitSignal(worker.job_finished, timeout=5000):
        worker.submit(req())


def test_previews_are_throttled_and_newest_wins(qtbot, make_worker):
    worker = make_worker(FakeEngine(steps=400, step_delay=0.001))
    steps = []
    worker.step_previewed.connect(lambda i, p: steps.append(p.step))
    with qtbot.waitSignal(worker.job_finished, timeout=10000):
        worker.submit(req())
    qtbot.wait(100)
    assert 0 < len(steps) < 60  # ~0.4-1 s of work at <= 20/s, never all 401 previews
    assert steps == sorted(steps)


def test_gui_thread_never_waits_for_a_step(qtbot, make_worker):
    gate = threading.Event()
    worker = make_worker(FakeEngine(steps=1, gate=gate))
    worker.submit(req())
    ticks = []
    for i in range(5):
        qtbot.wait(10)
        ticks.append(i)  # the event loop keeps running while the job is blocked
    assert ticks == [0, 1, 2, 3, 4] and worker.is_busy()
    gate.set()
    qtbot.waitUntil(lambda: not worker.is_busy(), timeout=5000)


def test_shutdown_cancels_and_joins_quickly(qapp):
    import time

    worker = GenerationWorker(FakeEngine(steps=10_000, step_delay=0.01))
    worker.submit(req())
    worker.submit(req())
    time.sleep(0.1)
    started = time.monotonic()
    assert worker.shutdown(2.0)
    assert time.monotonic() - started < 2.0
    with pytest.raises(RuntimeError, match="shut down"):
        worker.submit(req())


class _LoadThenRush(FakeEngine):
    """A 'loading' update, a pause (the GUI delivers it), then every step at once."""

    def run(self, request, on_step, cancel):
        def later(preview):
            if preview.image is None:
                on_step(preview)
                time.sleep(0.02)
            else:
                on_step(preview)

        return super().run(request, later, cancel)


def test_a_fast_job_still_shows_a_picture_after_the_loading_update(qtbot, make_worker):
    worker = make_worker(_LoadThenRush(steps=8))
    pictures = []
    worker.step_previewed.connect(
        lambda i, p: pictures.append(p.step) if p.image is not None else None
    )
    for _ in range(3):
        before = len(pictures)
        with qtbot.waitSignal(worker.job_finished, timeout=5000):
            worker.submit(req())
        assert len(pictures) > before  # the loading update did not use up the preview slot


def test_job_records_reach_their_final_state(qtbot, make_worker):
    gate = threading.Event()
    engine = FakeEngine(steps=1, gate=gate)
    worker = make_worker(engine)
    removed = []
    worker.job_removed.connect(removed.append)
    first = worker.submit(req(seed=1))
    qtbot.waitUntil(lambda: worker.job(first).state is JobState.RUNNING, timeout=5000)
    draft = worker.submit(req(seed=2), channel="live")
    newer = worker.submit(req(seed=3), channel="live")  # replaces the waiting one
    other = worker.submit(req(seed=4))
    assert worker.remove(other) and removed == [draft, other]
    assert worker.job(draft).state is worker.job(other).state is JobState.CANCELLED
    assert worker.job(draft).request is None  # an ended record lets go of its arrays
    gate.set()  # waitUntil: a waitSignal on job_finished here segfaulted 7 runs in 30 (the
    # next job finishes at once and its queued signal reached the closed blocker)
    qtbot.waitUntil(lambda: not worker.is_busy(), timeout=5000)
    assert worker.job(first).state is worker.job(newer).state is JobState.FINISHED
    assert worker.job(999) is None and [r.seed for r in engine.runs] == [1, 3]


def test_a_failed_job_ends_failed_and_shutdown_cancels_the_rest(qtbot, make_worker):
    engine = FakeEngine(steps=1, fail_with=InvalidRequestError("No.", ""))
    worker = make_worker(engine)
    with qtbot.waitSignal(worker.job_failed, timeout=5000):
        failed = worker.submit(req())
    assert worker.job(failed).state is JobState.FAILED
    engine.fail_with, engine.steps, engine.step_delay = None, 1000, 0.01  # runs ~10 s
    running = worker.submit(req())
    qtbot.waitUntil(lambda: worker.job(running).state is JobState.RUNNING, timeout=5000)
    waiting = worker.submit(req())
    assert worker.shutdown(2.0)
    assert worker.job(running).state is worker.job(waiting).state is JobState.CANCELLED
