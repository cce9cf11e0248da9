"""RunClock: when a training run stops, checkpoints and draws grids, and its progress text."""

from __future__ import annotations

from types import SimpleNamespace

from studio.training import train_common
from studio.training.train_common import RunClock


def _clock(monkeypatch, steps=None, max_minutes=None, step=0, elapsed=0.0):
    now = [1000.0]
    monkeypatch.setattr(train_common.time, "monotonic", lambda: now[0])
    cfg = SimpleNamespace(
        steps=steps, max_minutes=max_minutes, checkpoint_every=10, sample_every_minutes=1.0
    )
    return RunClock(cfg, step, elapsed), now


def test_a_step_budget_stops_the_run_and_forces_a_last_checkpoint(monkeypatch):
    clock, _ = _clock(monkeypatch, steps=25)
    assert not clock.finished(24) and clock.finished(25)
    assert [s for s in range(1, 26) if clock.checkpoint_due(s)] == [10, 20, 25]
    assert clock.step_text(20) == "step 20/25"


def test_a_time_budget_counts_this_invocation_only(monkeypatch):
    clock, now = _clock(monkeypatch, max_minutes=2, step=100, elapsed=3600.0)
    now[0] += 119
    assert not clock.finished(10**6)
    now[0] += 1
    assert clock.finished(100) and clock.elapsed() == 3720.0
    assert clock.step_text(130) == "step 130"
    assert clock.timing_text(130) == "4.00 s/step  elapsed 1h02m  ETA 0m00s"


def test_the_grid_is_due_once_a_period(monkeypatch):
    clock, now = _clock(monkeypatch, steps=10)
    now[0] += 59
    assert not clock.grid_due()
    now[0] += 1
    assert clock.grid_due() and not clock.grid_due()
