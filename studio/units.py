"""How Studio writes sizes and durations for people: one formatter each, no Qt, no torch."""

from __future__ import annotations

BYTE_UNITS = ("KB", "MB", "GB", "TB")  # binary steps of 1024, as memory and file managers count


def format_bytes(n: float) -> str:
    """512 -> "512 bytes", 1536 -> "1.5 KB", 68_157_440 -> "65 MB", 5 * 2**30 -> "5.0 GB".

    One decimal below 10 of a unit, whole units above; binary units (1 KB = 1024 bytes).
    """
    if n < 1024:
        return f"{int(n)} bytes"
    value = float(n)
    for unit in BYTE_UNITS:
        value /= 1024
        if round(value, 1) < 10:
            return f"{value:.1f} {unit}"
        if round(value) < 1024 or unit == BYTE_UNITS[-1]:
            return f"{value:.0f} {unit}"
    raise AssertionError("unreachable: the last unit always returns")


def format_clock(seconds: float) -> str:
    """A short wait as a clock: 42 -> "42 s", 125 -> "2:05" (minutes and seconds)."""
    whole = int(round(max(0.0, seconds)))
    return f"{whole // 60}:{whole % 60:02d}" if whole >= 60 else f"{whole} s"


def format_duration(seconds: float) -> str:
    """A long run in a log line: 125 -> "2m05s", 3725 -> "1h02m" (seconds dropped past an hour)."""
    whole = int(max(0.0, seconds))
    if whole >= 3600:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 60}m{whole % 60:02d}s"
