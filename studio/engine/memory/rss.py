"""Process memory as the OS sees it (Linux): resident set, its peak, and a peak reset."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_bytes() -> int:
    """Resident set size now (bytes); psutil where /proc is missing."""
    kib = _status_kib("VmRSS")
    if kib is not None:
        return kib * 1024
    import psutil

    return int(psutil.Process().memory_info().rss)


def trim() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc), so RSS ~ live data."""
    gc.collect()
    name = ctypes.util.find_library("c")
    if name and os.name == "posix":
        try:
            ctypes.CDLL(name).malloc_trim(0)
        except (OSError, AttributeError):
            pass


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS; False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_bytes() -> int | None:
    kib = _status_kib("VmHWM")
    return None if kib is None else kib * 1024


def measure_peak(fn: Callable[[], Any]) -> tuple[Any, int, int]:
    """Run fn; (its result, RSS before in bytes, peak RSS above that in bytes)."""
    trim()
    before = rss_bytes()
    if not reset_peak():
        raise OSError("peak memory cannot be reset on this system (/proc/self/clear_refs)")
    result = fn()
    peak = peak_rss_bytes() or rss_bytes()
    return result, before, max(0, peak - before)
