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


def session_controllers() -> set[str]:
    """Names of the QObject classes the session layer defines (its controllers)."""
    names = set()
    for path in sorted((ROOT / "session").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                _chain(base)[-1:] == ["QObject"] for base in node.bases
            ):
                names.add(node.name)
    return names


def test_the_session_controllers_are_found():
    assert {"JobQueue", "GenerationSession", "LiveDraft", "RunHistory"} <= session_controllers()


@pytest.mark.parametrize("path", sorted((ROOT / "ui").rglob("*.py")), ids=str)
def test_widgets_never_build_session_controllers(path):
    """The composition root (studio/app) builds them and hands them to the window."""
    controllers = session_controllers()
    built = [
        ".".join(_chain(node.func))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and _chain(node.func)[-1:]
        and _chain(node.func)[-1] in controllers
    ]
    assert not built, f"{path} builds {built}: build them in studio/app/main.py"
