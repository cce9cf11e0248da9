"""The owning session is told by an OS lock, not a PID: a reused PID does not hide a crashed
session's work, a live session in another process keeps its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.io import recovery

REPO = Path(__file__).resolve().parents[2]
CHILD = "from studio.io import recovery; recovery.claim(); print('CLAIMED', recovery.session_id(), flush=True); import time; time.sleep(60)"  # noqa: E501


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    recovery.recovery_dir().mkdir(parents=True)
    return tmp_path


def test_a_reused_pid_does_not_hide_a_crashed_session(home):
    """The crashed session had this very PID (common in containers): its lock file is there
    but nobody holds it, so its autosave is offered."""
    crashed = f"{os.getpid()}-0badc0de"
    recovery.autosave_path(crashed).write_bytes(b"work")
    recovery.lock_path(crashed).write_text(f'{{"pid": {os.getpid()}}}')
    assert [r.owner for r in recovery.find_recoverable()] == [crashed]
    assert recovery.find_recoverable()[0].pid == os.getpid()


def test_older_pid_named_autosaves_are_still_offered(home):
    recovery.autosave_path(os.getpid()).write_bytes(b"work")  # autosave-<pid>.studio
    recovery.lock_path(os.getpid()).write_text("{}")
    assert [r.owner for r in recovery.find_recoverable()] == [str(os.getpid())]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_live_session_keeps_its_work_until_it_dies(home):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, "-c", CHILD]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        owner = proc.stdout.readline().split()[1]
        recovery.autosave_path(owner).write_bytes(b"work")
        assert recovery.find_recoverable() == []  # locked: alive, whatever its PID
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
    deadline = time.monotonic() + 5
    while not recovery.find_recoverable() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r.owner for r in recovery.find_recoverable()] == [owner]


def test_claim_release_and_keep(home, monkeypatch):
    recovery.claim()
    assert recovery.lock_path().exists()
    recovery.autosave_path().write_bytes(b"work")
    recovery.keep_for_next_start()  # quit with unsaved work
    assert recovery.autosave_path().exists() and not recovery.lock_path().exists()
    mine = recovery.session_id()
    monkeypatch.setattr(recovery, "_SESSION", "next-start")
    assert [r.owner for r in recovery.find_recoverable()] == [mine]
