"""Logging to a rotating file in the user's log folder (and stderr for the CLI)."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from studio.io.paths import log_dir

FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def setup_logging(level: int = logging.INFO, console: bool = False) -> Path | None:
    """Attach a rotating file handler (1 MB x 5) to the root logger; return the log path."""
    root = logging.getLogger()
    root.setLevel(level)
    path: Path | None = log_dir() / "studio.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    except OSError as exc:
        path = None
        logging.getLogger(__name__).warning("no log file: %s", exc)
    if console:
        stream = logging.StreamHandler()
        stream.setLevel(logging.WARNING)
        stream.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        root.addHandler(stream)
    return path
