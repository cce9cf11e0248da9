"""The one job queue: owners called back about their own jobs only, true states, removal."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from studio.document.document import Document
from studio.engine.gan.requests import SpadeRequest
from studio.engine.requests import GenerationRequest, GenerationResult, StepPreview
from studio.errors import InvalidRequestError
from studio.session.explore_jobs import Cell, ExploreBatch
from studio.session.jobs import JobOwner, JobQueue
from studio.session.live_draft import CHANNEL, LiveDraft
from studio.session.session import GenerationSession
from studio.worker.jobs import JobState
from studio.worker.worker import GenerationWorker
from tests.fakes import FakeEngine

QUEUED, RUNNING = JobState.QUEUED, JobState.RUNNING
FINISHED, CANCELLED, FAILED = JobState.FINISHED, JobState.CANCELLED, JobState.FAILED


def req(seed: int = 1) -> GenerationRequest:
    return GenerationRequest(model_path="fake", prompt="p", seed=seed, width=64, height=64)


class Recorder(JobOwner):
    """Writes down every callback it gets: (callback, job id, what came with it)."""

    def __init__(self, fail_in: str = "") -> None:
        self.calls: list[tuple] = []
        self.fail_in = fail_in

    def _note(self, name: str, job, *args) -> None:
        self.calls.append((name, job.id, *args))
        if name == self.fail_in:
            raise RuntimeError(f"owner bug in {name}")

    def job_started(self, job) -> None:
        self._note("started", job)

    def job_previewed(self, job, preview) -> None:
        self._note("previewed", job)

    def job_finished(self, job, result) -> None:
        self._note("finished", job, result.request.seed)

    def job_cancelled(self, job, draft) -> None:
        self._note("cancelled", job, draft is not None and draft.draft)

    def job_failed(self, job, message, details) -> None:
        self._note("failed", job, message)

    def job_removed(self, job) -> None:
        self._note("removed", job)

    def names(self, job_id: int) -> list[str]:
        return [c[0] for c in self.calls if c[1] == job_id and c[0] != "previewed"]


class SpadeToo(FakeEngine):
    """The fake engine, plus a one-step SPADE render for live drafts (grey at the map's size)."""

    def run(self, request, on_step, cancel):
        if not isinstance(request, SpadeRequest):
            return super().run(request, on_step, cancel)
        self.runs.append(request)
        h, w = request.label_map.shape
        on_step(StepPreview(1, 1, np.full((4, 4, 3), 90, np.uint8), 0.0))
        return GenerationResult(np.full((h, w, 3), 90, np.uint8), request, {}, False, 1)


@pytest.fixture
def make_queue(qapp):
    workers = []

    def factory(engine):
        worker = GenerationWorker(engine)
        workers.append(worker)
        return JobQueue(worker)

    yield factory
    for worker in workers:
        assert worker.shutdown(2.0)


def test_each_owner_gets_exactly_its_own_callbacks(qtbot, make_queue):
    jobs = make_queue(FakeEngine(steps=3, step_delay=0.03))
    a, b = Recorder(), Recorder()
    first = jobs.submit(req(11), "A", a, kind="generate")
    second = jobs.submit(req(22), "B", b, kind="translate")
    qtbot.waitUntil(lambda: not jobs.busy(), timeout=5000)
    assert {c[1] for c in a.calls} == {first} and {c[1] for c in b.calls} == {second}
    assert a.names(first) == ["started", "finished"] and b.names(second) == ["started", "finished"]
    assert ("finished", first, 11) in a.calls and ("finished", second, 22) in b.calls
    assert any(c[0] == "previewed" for c in a.calls)  # previews reach the owner, throttled
    assert jobs.job(first).kind == "generate" and jobs.job(second).kind == "translate"
    assert jobs.job(first).owner is a and jobs.job(first).label == "A"


def test_states_are_true_in_the_queue_and_in_the_worker(qtbot, make_queue):
    engine = FakeEngine(steps=200, step_delay=0.01)
    jobs = make_queue(engine)
    owner = Recorder()
    seen: dict[int, list[JobState]] = {}
    jobs.job_changed.connect(lambda job: seen.setdefault(job.id, []).append(job.state))
    running = jobs.submit(req(1), "long", owner)
    qtbot.waitUntil(lambda: jobs.job(running).state is RUNNING, timeout=5000)
    assert jobs.worker.job(running).state is RUNNING
    qtbot.waitUntil(lambda: any(c[0] == "previewed" for c in owner.calls), timeout=5000)
    assert jobs.cancel(running)
    qtbot.waitUntil(lambda: jobs.job(running).state.done, timeout=5000)
    engine.steps, engine.step_delay = 2, 0.0
    finished = jobs.submit(req(2), "short", owner)
    qtbot.waitUntil(lambda: jobs.job(finished).state.done, timeout=5000)
    engine.fail_with = InvalidRequestError("Width is wrong.", "w=70")
    failed = jobs.submit(req(3), "broken", owner)
    qtbot.waitUntil(lambda: jobs.job(failed).state.done, timeout=5000)
    expected = {running: CANCELLED, finished: FINISHED, failed: FAILED}
    for job_id, state in expected.items():
        assert jobs.job(job_id).state is state and jobs.worker.job(job_id).state is state
        assert seen[job_id] == [QUEUED, RUNNING, state]
        assert jobs.job(job_id).request is None is jobs.worker.job(job_id).request  # freed
    assert ("cancelled", running, True) in owner.calls  # the draft came with it
    assert ("failed", failed, "Width is wrong.") in owner.calls
    assert jobs.jobs() == [] and jobs.worker.jobs() == []


def test_a_waiting_job_can_be_removed(qtbot, make_queue):
    gate = threading.Event()
    engine = FakeEngine(steps=1, gate=gate)
    jobs = make_queue(engine)
    owner = Recorder()
    ids = [jobs.submit(req(seed), f"job {seed}", owner) for seed in (1, 2, 3)]
    qtbot.waitUntil(lambda: jobs.job(ids[0]).state is RUNNING, timeout=5000)
    assert [j.id for j in jobs.jobs()] == ids
    assert not jobs.remove(ids[0])  # a running job is cancelled, not removed
    assert jobs.remove(ids[1]) and not jobs.remove(ids[1])
    assert owner.names(ids[1]) == ["removed"]  # at once, never started
    assert jobs.job(ids[1]).state is CANCELLED and jobs.worker.job(ids[1]).state is CANCELLED
    assert [j.id for j in jobs.jobs()] == [ids[0], ids[2]]
    gate.set()
    qtbot.waitUntil(lambda: not jobs.busy(), timeout=5000)
    assert [r.seed for r in engine.runs] == [1, 3]
    assert owner.names(ids[2]) == ["started", "finished"]


def test_a_failing_owner_does_not_break_other_owners(qtbot, make_queue):
    jobs = make_queue(FakeEngine(steps=2, step_delay=0.01))
    broken, fine = Recorder(fail_in="finished"), Recorder()
    ended = []
    jobs.job_ended.connect(lambda job, result: ended.append(job.id))
    with qtbot.capture_exceptions() as errors:
        first = jobs.submit(req(1), "broken owner", broken)
        second = jobs.submit(req(2), "fine owner", fine)
        qtbot.waitUntil(lambda: not jobs.busy(), timeout=5000)
    assert [str(e[1]) for e in errors] == ["owner bug in finished"]  # reported, not swallowed
    assert broken.names(first) == ["started", "finished"]
    assert fine.names(second) == ["started", "finished"]
    assert jobs.job(first).state is FINISHED and ended == [first, second]


def test_observers_see_every_job_owners_only_theirs(qtbot, make_queue):
    jobs = make_queue(FakeEngine(steps=3, step_delay=0.03))
    previewed, ended = set(), []
    jobs.job_previewed.connect(lambda job, preview: previewed.add(job.id))
    jobs.job_ended.connect(lambda job, result: ended.append((job.id, job.state, result.draft)))
    owner = Recorder()
    mine = jobs.submit(req(1), "mine", owner)
    nobody = jobs.submit(req(2), "no owner", None, kind="explore")
    qtbot.waitUntil(lambda: len(ended) == 2, timeout=5000)
    assert previewed == {mine, nobody}
    assert ended == [(mine, FINISHED, False), (nobody, FINISHED, False)]
    assert {c[1] for c in owner.calls} == {mine}


def test_a_live_draft_replaces_its_waiting_draft_and_is_not_the_sessions(
    qtbot, make_queue, tiny_sd_path
):
    gate = threading.Event()
    engine = SpadeToo(steps=2, step_delay=0.01, gate=gate)
    jobs = make_queue(engine)
    doc = Document(64, 64)
    session = GenerationSession(doc, jobs)
    session.settings.model_path = str(tiny_sd_path)
    session.settings.width = session.settings.height = 64
    doc.add_label_layer()  # before the live draft exists: its edit schedules nothing
    live = LiveDraft(doc, jobs)
    live.model_path, live.enabled = "spade", True
    landed, previews, shown = [], [], []
    session.result_added.connect(landed.append)
    session.preview_changed.connect(lambda p: previews.append(p))
    live.draft_shown.connect(shown.append)
    ours = session.generate()
    drafts = [live.render_now() for _ in range(3)]  # the first two wait, then are replaced
    assert [j.id for j in jobs.jobs(kind="live-draft")] == [drafts[2]]
    assert [jobs.job(d).state for d in drafts[:2]] == [CANCELLED, CANCELLED]
    assert jobs.jobs(owner=session)[0].id == ours and jobs.job(drafts[2]).channel == CHANNEL
    gate.set()
    qtbot.waitUntil(lambda: not jobs.busy(), timeout=10000)
    assert len(landed) == 1 and len(shown) == 1  # one result layer, one live draft shown
    assert jobs.job(drafts[2]).state is FINISHED and jobs.job(drafts[2]).owner is live
    assert [type(r).__name__ for r in engine.runs] == ["GenerationRequest", "SpadeRequest"]
    shown_previews = [p for p in previews if p is not None]
    assert shown_previews and {p[1] for p in shown_previews} == {(64, 64)}
    assert all(p[0].shape != (4, 4, 3) for p in shown_previews)  # never the draft's preview
    names = [layer.name for layer in doc.layers]
    assert sum(name.startswith("Prompt") for name in names) == 1
    assert any(layer.metadata.get("live_draft") for layer in doc.layers)


def test_an_unknown_kind_is_refused_before_queueing(make_queue):
    jobs = make_queue(FakeEngine())
    with pytest.raises(ValueError, match="Unknown job kind 'genrate'"):
        jobs.submit(req(), "typo", None, kind="genrate")
    assert jobs.worker.jobs() == [] and jobs.jobs() == []


def test_an_explore_cell_removed_from_the_queue_list_ends_its_batch(qtbot, make_queue):
    gate = threading.Event()
    jobs = make_queue(FakeEngine(steps=1, gate=gate))
    batch = ExploreBatch(Document(64, 64), jobs)
    batch.start("Variations", [Cell(f"cell {i}", req(i)) for i in range(3)], 3)
    assert [j.kind for j in jobs.jobs()] == ["explore"] * 3
    qtbot.waitUntil(lambda: batch.cells[0].state == "running", timeout=5000)
    assert jobs.remove(batch.cells[1].job_id)  # e.g. the Generate dock's queue list
    assert batch.cells[1].state == "cancelled"
    with qtbot.waitSignal(batch.batch_done, timeout=5000):
        gate.set()
    assert [c.state for c in batch.cells] == ["done", "cancelled", "done"]
