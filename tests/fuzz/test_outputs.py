"""Hostile output targets: folders, devices, pipes, links (dangling, to folders, to files),
files in the way of folders, odd permissions. The writers refuse before work or write the
real target only; the CLI says so in one line before any generation runs."""

from __future__ import annotations

import os
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from studio.app.cli import main
from studio.io.atomic import NotWritableError, check_writable, write_atomic
from tests.fuzz.conftest import case, snapshot

KINDS = ["missing", "nested", "file", "link-file", "link-dangling", "link-dir", "dir",
         "device", "fifo", "file-as-parent"]  # fmt: skip


def _make(root, kind: str, mode: int):
    """Build one kind of target under root; returns (path given to the writer, the file a
    successful write may change, or None if nothing may change)."""
    real = root / "real.png"
    if kind == "missing":
        return root / "out.png", root / "out.png"
    if kind == "nested":
        return root / "a" / "b" / "out.png", root / "a" / "b" / "out.png"
    if kind == "file":
        real.write_bytes(b"old")
        real.chmod(mode)
        return real, real
    link = root / "link.png"
    if kind == "link-file":
        real.write_bytes(b"old")
        real.chmod(mode)
        link.symlink_to(real)
        return link, real
    if kind == "link-dangling":
        link.symlink_to(root / "elsewhere.png")
        return link, root / "elsewhere.png"
    if kind == "link-dir":
        (root / "d").mkdir()
        link.symlink_to(root / "d")
        return link, None
    if kind == "dir":
        (root / "d").mkdir()
        return root / "d", None
    if kind == "device":
        link.symlink_to("/dev/null")
        return link, None
    if kind == "fifo":
        os.mkfifo(root / "pipe")
        return root / "pipe", None
    if kind == "file-as-parent":
        real.write_bytes(b"old")
    real.write_bytes(b"old")
    return real / "out.png", None


@given(kind=st.sampled_from(KINDS), mode=st.sampled_from([0o600, 0o640, 0o644, 0o664, 0o444]))
def test_writers_touch_only_the_real_target(tmp_path, kind, mode):
    import shutil

    root = tmp_path / "t"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    given_path, changes = _make(root, kind, mode)
    before = snapshot(root)
    outcome = []
    with case("output targets", f"{kind} {mode:o}", outcome):
        try:
            check_writable(given_path)
            write_atomic(given_path, lambda handle: handle.write(b"new"))
            outcome.append("ok")
        except NotWritableError as exc:
            assert exc.strerror and "\n" not in exc.strerror
            outcome.append("refused")
    after = snapshot(root)
    if outcome == ["refused"] or changes is None:
        assert outcome == ["refused"] and after == before
        return
    assert changes.read_bytes() == b"new"
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    allowed = {str(changes)} | {str(p) for p in changes.parents}
    assert changed <= allowed, changed - allowed
    if kind in ("file", "link-file"):
        assert stat.S_IMODE(changes.stat().st_mode) == mode
    if kind.startswith("link"):
        assert (root / "link.png").is_symlink()


@pytest.mark.parametrize(
    "flag, make",
    [
        ("--out", lambda root: root),  # a folder
        ("--out", lambda root: _link(root, "/dev/null")),
        ("--out", lambda root: _file(root) / "out.png"),
        ("--preview-dir", lambda root: _file(root)),
        ("--export-run", lambda root: root / "run.mov"),
        ("--export-run", lambda root: _file(root) / "run.gif"),
    ],
)
def test_cli_refuses_unwritable_outputs_first(
    tiny_sd_path, tmp_path, capsys, monkeypatch, flag, make
):
    from studio.engine.router import EngineRouter

    def never(*_args, **_kwargs):
        raise AssertionError("the generation ran before the output was checked")

    monkeypatch.setattr(EngineRouter, "run", never)
    root = tmp_path / "outputs"
    root.mkdir()
    target = make(root)
    args = ["generate", "--model", str(tiny_sd_path), "--prompt", "a bay", "--steps", "1"]
    args += ["--width", "64", "--height", "64"]
    if flag != "--out":
        args += ["--out", str(tmp_path / "ok.png")]
    before = snapshot(root)
    with case("CLI output flags", f"{flag} {target.name}"):
        code = main([*args, flag, str(target)])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("studio: error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, err
    assert snapshot(root) == before


def _file(root):
    path = root / "file.txt"
    path.write_text("x")
    return path


def _link(root, to: str):
    link = root / "link.png"
    link.symlink_to(to)
    return link


def test_cli_writes_through_a_symlink_and_keeps_permissions(tiny_sd_path, tmp_path):
    real = tmp_path / "real.png"
    real.write_bytes(b"old")
    real.chmod(0o640)
    link = tmp_path / "link.png"
    link.symlink_to(real)
    args = ["generate", "--model", str(tiny_sd_path), "--prompt", "a bay", "--steps", "1"]
    assert main([*args, "--width", "64", "--height", "64", "--out", str(link), "--quiet"]) == 0
    assert link.is_symlink() and real.read_bytes()[:4] == b"\x89PNG"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
