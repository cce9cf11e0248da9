"""Atomic writes: through symlinks, never over devices or folders, permissions kept, stale
temp files of our own removed; check_writable refuses before any work is done."""

from __future__ import annotations

import errno
import os
import stat
import time

import pytest

from studio.io.atomic import NotWritableError, check_writable, remove_stale_temps, write_atomic


def _write(path, data: bytes = b"new") -> None:
    write_atomic(path, lambda handle: handle.write(data))


def test_symlink_is_written_through(tmp_path):
    target = tmp_path / "real.png"
    target.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    _write(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"new"


def test_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "link.png"
    link.symlink_to(tmp_path / "sub" / "made.png")
    _write(link)
    assert link.is_symlink() and (tmp_path / "sub" / "made.png").read_bytes() == b"new"


@pytest.mark.parametrize("kind", ["device", "folder", "fifo"])
def test_non_regular_targets_are_refused_and_left_alone(tmp_path, kind):
    if kind == "device":
        target = tmp_path / "null"
        target.symlink_to("/dev/null")  # through a link, so the test never touches /dev
    elif kind == "folder":
        target = tmp_path / "dir"
        target.mkdir()
    else:
        target = tmp_path / "pipe"
        os.mkfifo(target)
    before = target.lstat()
    with pytest.raises(NotWritableError):
        _write(target)
    with pytest.raises(NotWritableError):
        check_writable(target)
    after = target.lstat()
    assert (before.st_mode, before.st_ino) == (after.st_mode, after.st_ino)
    assert not list(tmp_path.glob(".*.tmp"))


def test_permissions_are_kept_and_new_files_follow_the_umask(tmp_path):
    old = tmp_path / "shared.png"
    old.write_bytes(b"old")
    old.chmod(0o640)
    _write(old)
    assert stat.S_IMODE(old.stat().st_mode) == 0o640
    mask = os.umask(0o022)
    try:
        _write(tmp_path / "fresh.png")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "fresh.png").stat().st_mode) == 0o644


def test_stale_temp_files_are_removed_fresh_ones_kept(tmp_path):
    target = tmp_path / "out.png"
    stale = tmp_path / ".out.png.abc123.tmp"
    fresh = tmp_path / ".out.png.def456.tmp"
    other = tmp_path / ".other.png.abc123.tmp"
    for path in (stale, fresh, other):
        path.write_bytes(b"partial")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    _write(target)
    assert not stale.exists() and fresh.exists() and other.exists()
    assert remove_stale_temps(tmp_path / "other.png") == 1


def test_check_writable_refuses_before_work(tmp_path, monkeypatch):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(NotWritableError, match="cannot write"):
        check_writable(blocker / "out.png")  # a file where a folder should be
    with pytest.raises(NotWritableError, match="folder"):
        check_writable(tmp_path)
    with pytest.raises(NotWritableError, match="not a folder"):
        check_writable(blocker, folder=True)
    assert check_writable(tmp_path / "new" / "out.png") == tmp_path / "new" / "out.png"
    assert not list((tmp_path / "new").iterdir())  # the probe left nothing behind

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(NotWritableError, match="No space left"):
        check_writable(tmp_path / "out.png")
    assert not list(tmp_path.glob(".studio-probe.*"))


def test_claim_sweeps_half_written_autosaves_of_killed_sessions(tmp_path, monkeypatch):
    from studio.io import recovery

    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    folder = recovery.recovery_dir()
    folder.mkdir(parents=True)
    stale = folder / ".autosave-77-0a0b0c0d.studio.x1y2z3.tmp"
    fresh = folder / ".autosave-78-0a0b0c0d.studio.q9w8e7.tmp"
    kept = folder / "autosave-77-0a0b0c0d.studio"
    for path in (stale, fresh, kept):
        path.write_bytes(b"partial")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(kept, (old, old))
    recovery.claim()
    try:
        assert not stale.exists() and fresh.exists() and kept.exists()
    finally:
        recovery.release()
