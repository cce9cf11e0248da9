"""One job owner: only the job queue listens to the worker's job signals or submits to it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from PySide6.QtCore import Signal

from studio.worker.worker import GenerationWorker

ROOT = Path(__file__).resolve().parents[1] / "studio"
# The worker tracks its own signals (preview throttle); the queue is everyone else's way in.
ALLOWED = {ROOT / "worker" / "worker.py", ROOT / "session" / "jobs.py"}
WORKER_SIGNALS = sorted(
    name
    for name, value in vars(GenerationWorker).items()
    if isinstance(value, Signal) and not name.startswith("_")
)


def _chain(node: ast.expr) -> list[str]:
    """`self.worker.job_started` -> ["self", "worker", "job_started"]."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
    return names[::-1]


def worker_uses(source: str) -> list[str]:
    """Every `<x>.<worker signal>.connect(…)` and `<…>worker.submit(…)` in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        chain = _chain(node.func)
        listens = chain[-1] == "connect" and chain[-2:-1] and chain[-2] in WORKER_SIGNALS
        submits = chain[-1] == "submit" and chain[-2:-1] == ["worker"]
        if listens or submits:
            found.append(".".join(chain))
    return found


def test_the_worker_signals_are_known():
    assert {"job_started", "step_previewed", "job_finished", "job_failed"} <= set(WORKER_SIGNALS)


def test_the_check_finds_what_it_looks_for():
    code = (
        "worker.job_finished.connect(f)\n"
        "self.worker.step_previewed.connect(self.g)\n"
        "s.worker.queue_changed.connect(lambda: None)\n"
        "job_id = self.worker.submit(request, 'x')\n"
        "jobs.job_ended.connect(f)\n"  # the queue's own signals are for everyone
        "jobs.submit(request, 'x', owner)\n"
    )
    assert worker_uses(code) == [
        "worker.job_finished.connect",
        "self.worker.step_previewed.connect",
        "s.worker.queue_changed.connect",
        "self.worker.submit",
    ]


@pytest.mark.parametrize(
    "path", [p for p in sorted(ROOT.rglob("*.py")) if p not in ALLOWED], ids=str
)
def test_only_the_job_queue_talks_to_the_worker_about_jobs(path):
    uses = worker_uses(path.read_text(encoding="utf-8"))
    assert not uses, f"{path} bypasses the job queue (studio/session/jobs.py): {uses}"
