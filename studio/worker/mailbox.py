"""A one-slot mailbox: the generation thread posts previews, the newest one wins."""

from __future__ import annotations

import threading
from typing import Any


class Mailbox:
    """Holds at most one item; `put` reports whether the reader still needs to be notified."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: Any = None
        self._notified = False

    def put(self, item: Any) -> bool:
        """Store `item` over any unread one; True if the reader must be told (once per read)."""
        with self._lock:
            self._item = item
            if self._notified:
                return False
            self._notified = True
            return True

    def take(self) -> Any:
        """The newest item (or None), and re-arm notification."""
        with self._lock:
            item, self._item = self._item, None
            self._notified = False
            return item
