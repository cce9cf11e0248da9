"""Atomic file writes: temp file in the same folder, flush, fsync, rename over the target.

A symlink is written through (the file it points to is replaced, the link stays); a target
that is not a regular file (a folder, a device node, a pipe) is refused; the new file keeps
the permissions the old one had (or gets the umask's, like any new file); temp files our own
killed writes left behind (`.NAME.*.tmp`, older than STALE_SECONDS) are removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

STALE_SECONDS = 15 * 60  # a temp file this old is not a write still in progress
PROBE_BYTES = 64 * 1024  # check_writable writes this much: a full disk says so now, not later


class NotWritableError(OSError):
    """An output path Studio will not or cannot write (the message is for the artist)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def real_target(path: Path) -> Path:
    """Where writing `path` really lands: symlinks followed; a folder, device node, pipe or
    socket refused with NotWritableError."""
    path = Path(path)
    real = Path(os.path.realpath(path))
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        return real
    except OSError as exc:
        raise NotWritableError(exc.errno, f"cannot write {path}: {exc.strerror}") from exc
    if stat.S_ISDIR(mode):
        raise NotWritableError(errno.EISDIR, f"{path} is a folder, not a file name")
    if not stat.S_ISREG(mode):
        raise NotWritableError(errno.EINVAL, f"{path} is a device or pipe, not a regular file")
    return real


def _target_mode(real: Path) -> int:
    """The permission bits the written file gets: the old file's, else 0o666 minus the umask."""
    try:
        return stat.S_IMODE(real.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def remove_stale_temps(path: Path, older_than: float = STALE_SECONDS) -> int:
    """Delete `.NAME.*.tmp` files beside `path` older than `older_than` seconds (ours, left by a
    killed write); returns how many. Fresh ones may belong to a write in progress: kept."""
    path = Path(path)
    removed, now = 0, time.time()
    with contextlib.suppress(OSError):
        for tmp in path.parent.glob(f".{path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                info = tmp.lstat()
                if stat.S_ISREG(info.st_mode) and now - info.st_mtime > older_than:
                    tmp.unlink()
                    removed += 1
    return removed


def sweep_stale_temps(folder: Path, older_than: float = STALE_SECONDS) -> int:
    """remove_stale_temps for every name in a folder (for files whose names change, such as
    per-session autosaves, whose own next write never comes)."""
    removed = 0
    with contextlib.suppress(OSError):
        names = {p.name[1:].rsplit(".", 2)[0] for p in Path(folder).glob(".*.*.tmp")}
        for name in names:
            removed += remove_stale_temps(Path(folder) / name, older_than)
    return removed


def write_atomic(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call `write` on a temp file, then replace `path` with it; a crash leaves the old file."""
    real = real_target(Path(path))
    real.parent.mkdir(parents=True, exist_ok=True)
    mode = _target_mode(real)
    fd, tmp = tempfile.mkstemp(prefix=f".{real.name}.", suffix=".tmp", dir=real.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    remove_stale_temps(real)


def check_writable(path: Path, folder: bool = False) -> Path:
    """Prove before any long work that `path` (a file, or with `folder` a folder) can be
    written: the right kind of target, its folder creatable, room for a first write.
    Returns where the writes will land; NotWritableError says what is wrong."""
    path = Path(path)
    if folder:
        if path.exists() and not path.is_dir():
            raise NotWritableError(errno.ENOTDIR, f"{path} is a file, not a folder")
        place = path
    else:
        if str(path).endswith(os.sep) or path.name in ("", ".", ".."):
            raise NotWritableError(errno.EISDIR, f"{path} names a folder, not a file")
        place = real_target(path).parent
    try:
        place.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".studio-probe.", suffix=".tmp", dir=place)
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise NotWritableError(exc.errno, f"cannot write in {place}: {reason}") from exc
    if not folder and path.exists() and not os.access(real_target(path), os.W_OK):
        # replacing works in a writable folder, but an artist's read-only file means "keep"
        raise NotWritableError(errno.EACCES, f"{path} is read-only")
    return place if folder else real_target(path)
