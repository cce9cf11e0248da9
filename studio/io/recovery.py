"""The recovery folder: per-session lock files and autosaves; an unlocked owner means a crash.

Each running Studio is one session, named `<pid>-<random>` (a PID alone is reused, often at
once in containers). It holds an OS lock on `running-<session>.lock` for its whole life
(flock on POSIX, msvcrt on Windows) and autosaves to `autosave-<session>.studio`. The OS
drops the lock when the process dies, however it dies, so on start an autosave whose lock
can be taken (or whose lock file is gone) is work left behind and is offered for restoring.
A clean exit removes both files.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.io.atomic import sweep_stale_temps
from studio.io.paths import user_data_dir

_SESSION = f"{os.getpid()}-{secrets.token_hex(4)}"
_HELD: dict[str, Any] = {}  # lock file path -> the open, locked lock file (until release)


def recovery_dir() -> Path:
    return user_data_dir() / "recovery"


def session_id() -> str:
    """This process's session name (PID plus a random part, so a reused PID is not us)."""
    return _SESSION


def autosave_path(owner: str | int | None = None) -> Path:
    return recovery_dir() / f"autosave-{owner or _SESSION}.studio"


def lock_path(owner: str | int | None = None) -> Path:
    return recovery_dir() / f"running-{owner or _SESSION}.lock"


def _try_lock(fd: int) -> bool:
    """Take an exclusive lock without waiting; False if another open file holds it."""
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError / PermissionError: held by a live session
        return False
    return True


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        if sys.platform == "win32":
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_UN)


def owner_alive(owner: str) -> bool:
    """True while the session `owner` runs: its lock file exists and is locked."""
    if owner == _SESSION:
        return True
    try:
        fd = os.open(lock_path(owner), os.O_RDWR)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: never take another session's work
    try:
        if not _try_lock(fd):
            return True
        _unlock(fd)
        return False
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Recoverable:
    """An autosave left by a session that is gone."""

    path: Path
    owner: str  # the session that wrote it ("<pid>-<random>", or a bare PID from older Studios)
    saved_at: float  # unix time of the autosave

    @property
    def pid(self) -> int | None:
        head = self.owner.split("-", 1)[0]
        return int(head) if head.isdigit() else None


def claim() -> None:
    """Mark this session as running (call once at start): the lock lives as long as we do."""
    folder = recovery_dir()
    folder.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(folder)  # half-written autosaves of killed sessions
    if str(lock_path()) in _HELD:
        return
    handle = open(lock_path(), "a+b")  # noqa: SIM115 - held open until release()
    if not _try_lock(handle.fileno()):
        handle.close()
        raise OSError(f"{lock_path()} is locked by another process")
    handle.truncate(0)
    handle.write(json.dumps({"pid": os.getpid(), "started": time.time()}).encode())
    handle.flush()
    _HELD[str(lock_path())] = handle


def _drop_lock() -> None:
    handle = _HELD.pop(str(lock_path()), None)
    if handle is not None:
        _unlock(handle.fileno())
        handle.close()
    with contextlib.suppress(FileNotFoundError):
        lock_path().unlink()


def release() -> None:
    """Clean exit: forget this session's lock and autosave."""
    with contextlib.suppress(FileNotFoundError):
        autosave_path().unlink()
    _drop_lock()


def keep_for_next_start() -> None:
    """Exit with unsaved work: the autosave stays and the lock goes, so the next start offers
    it exactly as after a crash."""
    _drop_lock()


def find_recoverable() -> list[Recoverable]:
    """Autosaves whose owner session no longer runs, newest first."""
    found = []
    folder = recovery_dir()
    if not folder.is_dir():
        return found
    for path in folder.glob("autosave-*.studio"):
        owner = path.stem.split("-", 1)[1]
        if not owner or owner_alive(owner):
            continue
        with contextlib.suppress(OSError):  # gone meanwhile (another Studio took it)
            found.append(Recoverable(path, owner, path.stat().st_mtime))
    return sorted(found, key=lambda r: -r.saved_at)


def set_aside(item: Recoverable, how: str) -> Path:
    """Move a handled autosave out of the way (kept, never deleted) and drop its stale lock."""
    target = recovery_dir() / f"{how}-{int(item.saved_at)}-{item.owner}.studio"
    os.replace(item.path, target)
    with contextlib.suppress(OSError):
        lock_path(item.owner).unlink()
    return target
