"""The fuzz suite's bookkeeping: every hostile case is timed, its peak memory checked, the
files around it compared, and a per-category tally printed at the end of the run."""

from __future__ import annotations

import contextlib
import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Modest sizes so the suite stays under ~2 minutes on 2 CPU cores (the CI budget).
settings.register_profile(
    "studio-fuzz",
    max_examples=int(os.environ.get("STUDIO_FUZZ_EXAMPLES", "40")),
    deadline=None,  # timing is checked per case below, against a budget that tolerates load
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same cases on every run: a CI failure reproduces locally
    database=None,
)
settings.load_profile("studio-fuzz")

CASE_SECONDS = 10.0  # one refusal may take this long on a loaded 2-core machine, no more
CASE_PEAK_BYTES = 512 * 2**20  # growth of the process's peak memory allowed per case


@dataclass
class Category:
    """How many cases one category ran and its slowest one."""

    cases: int = 0
    slowest: float = 0.0
    slowest_case: str = ""
    outcomes: dict[str, int] = field(default_factory=dict)


TALLY: dict[str, Category] = {}


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def snapshot(folder: Path) -> dict[str, tuple[int, int, int]]:
    """Every file under `folder` with its size, mtime and mode (to prove nothing else changed)."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        with contextlib.suppress(OSError):
            st = path.lstat()
            out[str(path)] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


@contextlib.contextmanager
def case(category: str, label: str, outcome: list[str] | None = None):
    """Time one hostile case; fail it if it is too slow or grows peak memory too much."""
    entry = TALLY.setdefault(category, Category())
    peak = _peak_bytes()
    start = time.perf_counter()
    yield
    took = time.perf_counter() - start
    entry.cases += 1
    if outcome:
        entry.outcomes[outcome[0]] = entry.outcomes.get(outcome[0], 0) + 1
    if took > entry.slowest:
        entry.slowest, entry.slowest_case = took, label
    assert took < CASE_SECONDS, f"{category}: {label} took {took:.1f} s"
    grown = _peak_bytes() - peak
    assert grown < CASE_PEAK_BYTES, f"{category}: {label} grew peak memory by {grown >> 20} MB"


def pytest_terminal_summary(terminalreporter) -> None:
    if not TALLY:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fuzz cases per category")
    for name, entry in sorted(TALLY.items()):
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(entry.outcomes.items()))
        write(
            f"{name:<28} {entry.cases:>5} cases  slowest {entry.slowest * 1000:7.1f} ms "
            f"({entry.slowest_case})  {outcomes}"
        )
    slow = max(TALLY.items(), key=lambda kv: kv[1].slowest)
    write(f"slowest refusal: {slow[0]}: {slow[1].slowest_case}, {slow[1].slowest * 1000:.1f} ms")


@pytest.fixture
def clean():
    """Run a call; return 'ok' or 'refused' — any exception but a StudioError fails the case."""
    from studio.errors import StudioError

    def run(call, *args, **kwargs) -> str:
        try:
            call(*args, **kwargs)
        except StudioError as exc:
            assert exc.message and "\n" not in exc.message, repr(exc.message)
            assert "Traceback" not in exc.message
            return "refused"
        return "ok"

    return run
