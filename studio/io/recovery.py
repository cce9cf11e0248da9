"""The recovery folder: per-process lock files and autosaves; a dead owner means a crash.

Each running Studio writes `running-<pid>.lock` and autosaves to `autosave-<pid>.studio`.
A clean exit removes both. On start, an autosave whose owner process no longer exists is work
left behind by a crash (or a kill) and is offered for restoring.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from studio.io.paths import user_data_dir


def recovery_dir() -> Path:
    return user_data_dir() / "recovery"


def autosave_path(pid: int | None = None) -> Path:
    return recovery_dir() / f"autosave-{pid or os.getpid()}.studio"


def lock_path(pid: int | None = None) -> Path:
    return recovery_dir() / f"running-{pid or os.getpid()}.lock"


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Recoverable:
    """An autosave left by a process that is gone."""

    path: Path
    pid: int
    saved_at: float  # unix time of the autosave


def claim() -> None:
    """Mark this process as running (call once at start)."""
    recovery_dir().mkdir(parents=True, exist_ok=True)
    info = {"pid": os.getpid(), "started": time.time()}
    lock_path().write_text(json.dumps(info), encoding="utf-8")


def release() -> None:
    """Clean exit: forget this process's lock and autosave."""
    for path in (autosave_path(), lock_path()):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def find_recoverable() -> list[Recoverable]:
    """Autosaves whose owner process no longer runs, newest first."""
    found = []
    folder = recovery_dir()
    if not folder.is_dir():
        return found
    for path in folder.glob("autosave-*.studio"):
        try:
            pid = int(path.stem.split("-", 1)[1])
        except ValueError:
            continue
        if not pid_alive(pid):
            found.append(Recoverable(path, pid, path.stat().st_mtime))
    return sorted(found, key=lambda r: -r.saved_at)


def set_aside(item: Recoverable, how: str) -> Path:
    """Move a handled autosave out of the way (kept, never deleted) and drop its stale lock."""
    target = recovery_dir() / f"{how}-{int(item.saved_at)}-{item.pid}.studio"
    os.replace(item.path, target)
    try:
        lock_path(item.pid).unlink()
    except FileNotFoundError:
        pass
    return target
