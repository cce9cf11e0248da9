"""The Qt binding must not drop references to None (PySide6 6.12.0 does on Python < 3.12)."""

from __future__ import annotations

import sys

import pytest


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_void_qt_calls_keep_none_alive(qapp):
    """Every void call (update, processEvents…) of 6.12.0 lowered None's count by one, so a
    painting session aborted with 'none_dealloc' after a few thousand calls."""
    from PySide6.QtWidgets import QWidget

    widget = QWidget()
    before = sys.getrefcount(None)
    for _ in range(500):
        widget.update()
        qapp.processEvents()
    assert sys.getrefcount(None) - before > -50
