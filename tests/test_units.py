"""The one byte-size and duration formatters every message uses."""

from __future__ import annotations

import pytest

from studio.units import format_bytes, format_clock, format_duration


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1024, "1.0 KB"),
        (1536, "1.5 KB"),
        (3 * 2**20 + 2**19, "3.5 MB"),
        (10 * 2**20 - 1, "10 MB"),  # 9.99... rounds up: no "10.0"
        (65 * 2**20 + 2**17, "65 MB"),
        (1024 * 2**20 - 1, "1.0 GB"),  # not "1024 MB"
        (int(6.2 * 2**30), "6.2 GB"),
        (5 * 2**30, "5.0 GB"),
        (3 * 2**40, "3.0 TB"),
        (5000 * 2**40, "5000 TB"),
    ],
)
def test_format_bytes(n, text):
    assert format_bytes(n) == text


def test_format_clock():
    assert [format_clock(s) for s in (0, 42.4, 59.6, 125, 3725)] == [
        "0 s",
        "42 s",
        "1:00",
        "2:05",
        "62:05",
    ]


def test_format_duration():
    assert [format_duration(s) for s in (-3, 59.9, 125, 3725)] == [
        "0m00s",
        "0m59s",
        "2m05s",
        "1h02m",
    ]
