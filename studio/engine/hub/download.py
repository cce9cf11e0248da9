"""Download models from the Hugging Face Hub: plan, check space, resumable fetch, verify, install.

Layout: files arrive in `<models>/.downloads/<name>/files/<path>.part`, each is verified (LFS
sha256, or the git blob id for small files) and renamed to `<path>`, and when every file is good
the `files` folder is renamed to `<models>/<name>` in one step, so a model folder is either
complete or absent (a single-file plan moves its card, then its weights file, into `<models>`).
Pause, a dropped connection, a full disk or a crash keep the staging folder; the next `download`
of the same plan continues each .part file with an HTTP Range request. Cancel removes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path

from studio.engine.hub.plan import (
    ANY_REPO_PATTERNS,
    DownloadPlan,
    HubFile,
    Recommended,
    folder_name,
    hub_endpoint,
    load_recommended,
    plan_download,
    prefer_variant,
)
from studio.engine.hub.transfer import (
    CHUNK_BYTES,
    ChecksumError,
    DiskSpaceError,
    DownloadControl,
    DownloadError,
    DownloadProgress,
    PartWriter,
    ProgressMeter,
    _Paused,
    hub_errors,
    network_allowed,
    open_part,
)
from studio.errors import Cancelled
from studio.units import format_bytes

__all__ = [
    "ANY_REPO_PATTERNS",
    "CHUNK_BYTES",
    "ChecksumError",
    "DiskSpaceError",
    "DownloadControl",
    "DownloadError",
    "DownloadProgress",
    "DownloadPlan",
    "HubFile",
    "Recommended",
    "load_recommended",
    "download",
    "folder_name",
    "hub_endpoint",
    "plan_download",
    "prefer_variant",
    "staging_dir",
]

STAGING = ".downloads"
_SHA256 = re.compile(r"[0-9a-f]{64}")
SOURCE_FILE = "studio-download.json"  # written into the installed folder: where it came from


def download(
    plan: DownloadPlan,
    models_dir: Path,
    *,
    on_progress: Callable[[DownloadProgress], None] | None = None,
    control: DownloadControl | None = None,
    free_space: Callable[[Path], int] | None = None,
    open_file: Callable[[Path], object] = open_part,
) -> Path:
    """Fetch, verify and install `plan` as `<models_dir>/<plan.name>`; returns that path."""
    with _exclusive(Path(models_dir), plan.name):
        return _download(plan, Path(models_dir), on_progress, control, free_space, open_file)


@contextlib.contextmanager
def _exclusive(models_dir: Path, name: str) -> Iterator[None]:
    """One process per staging folder: a second Studio would append to the same .part files."""
    import filelock  # a dependency of huggingface_hub

    (models_dir / STAGING).mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(models_dir / STAGING / f"{name}.lock"))
    try:
        lock.acquire(timeout=0.2)
    except filelock.Timeout as exc:
        raise DownloadError(
            f"{name} is already being downloaded (by another Studio window or command).",
            details=str(exc),
        ) from exc
    try:
        yield
    finally:
        lock.release()


def _download(plan, models_dir: Path, on_progress, control, free_space, open_file) -> Path:
    control = control or DownloadControl()
    target = models_dir / plan.name
    taken = [target] if plan.layout == "folder" else [models_dir / f.local for f in plan.files]
    if any(p.exists() for p in taken):
        raise DownloadError(
            f"{plan.name} is already installed.",
            details=f"{', '.join(str(p) for p in taken if p.exists())} exists; remove it first.",
        )
    staging = _prepare_staging(staging_dir(models_dir, plan.name), plan)
    files_dir = staging / "files"
    done = sum(_have(files_dir, f) for f in plan.files)
    _check_space(plan.total_bytes - done, models_dir, free_space)
    meter = ProgressMeter(plan.total_bytes, done, on_progress)
    try:
        for f in plan.files:
            if not (files_dir / f.local).is_file():
                _fetch(plan, f, files_dir, meter, control, open_file)
        meter.emit("installing")
    except Cancelled as stop:
        if not stop.kept:
            shutil.rmtree(staging, ignore_errors=True)
        raise
    if plan.layout == "folder":
        (files_dir / SOURCE_FILE).write_text(json.dumps(_source(plan), indent=1))
        os.replace(files_dir, target)  # one rename: the model folder appears complete
    else:
        weights_last = sorted(plan.files, key=lambda f: f.local == plan.name)
        for f in weights_last:  # the card first, so the model never appears without it
            os.replace(files_dir / f.local, models_dir / f.local)
    shutil.rmtree(staging, ignore_errors=True)
    return target


def staging_dir(models_dir: Path, name: str) -> Path:
    """Where a download of `name` keeps its partial files."""
    return Path(models_dir) / STAGING / name


def _fetch(plan, f: HubFile, files_dir: Path, meter, control, open_file) -> None:
    """Download one file to <path>.part (resuming), verify it, rename it to <path>."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.file_download import http_get

    part = files_dir / (f.local + ".part")
    meter.file = f.path
    url = hf_hub_url(plan.repo_id, f.path, revision=plan.commit, endpoint=plan.endpoint)
    while True:
        control.check_cancelled()
        if control.paused:
            meter.emit("paused")
            while not control.wait_resumed():
                pass
            control.check_cancelled()
            meter.restart_speed()
        try:
            with network_allowed(), hub_errors(plan.repo_id, plan.endpoint):
                meta = get_hf_file_metadata(url, endpoint=plan.endpoint)
                _check_remote(plan, f, meta)
                resume = part.stat().st_size if part.exists() else 0
                if resume > f.size:  # not this file's bytes (a damaged staging folder)
                    part.unlink()
                    resume = 0
                with open_file(part) as raw:
                    writer = PartWriter(raw, meter, control)
                    http_get(
                        meta.location,
                        writer,  # type: ignore[arg-type]
                        resume_size=resume,
                        headers={"Accept-Encoding": "identity"},
                        expected_size=f.size,
                        displayed_filename=f.path,
                        tqdm_class=_silent_tqdm(),
                    )
        except _Paused:
            continue
        break
    meter.emit("verifying")
    _verify(part, f)
    os.replace(part, files_dir / f.local)


def _silent_tqdm():
    from huggingface_hub.utils import tqdm

    class Silent(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return Silent


def _verify(part: Path, f: HubFile) -> None:
    size = part.stat().st_size
    if f.sha256:
        digest, expected, kind = hashlib.sha256(), f.sha256, "sha256"
    elif f.blob_id:
        digest, expected, kind = hashlib.sha1(b"blob %d\0" % size), f.blob_id, "git blob id"
    else:
        return  # the hub gave no checksum for this file; the size was checked by http_get
    with open(part, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    actual = digest.hexdigest()
    if actual != expected or size != f.size:
        part.unlink(missing_ok=True)  # a bad file cannot be resumed; the next try starts it again
        raise ChecksumError(
            f"{f.path} arrived damaged (its checksum does not match the hub's). Nothing was "
            "installed; try the download again.",
            details=f"{kind}: expected {expected}, got {actual}; size {size} of {f.size} bytes",
        )


def _check_remote(plan: DownloadPlan, f: HubFile, meta) -> None:
    """The file the hub is about to send must be the one the plan listed."""
    if meta.commit_hash and meta.commit_hash != plan.commit:
        raise DownloadError(
            f"{plan.repo_id} changed on the hub during the download; start it again.",
            details=f"planned commit {plan.commit}, hub now says {meta.commit_hash}",
        )
    # Only a sha256-shaped ETag is compared (the hub may send another kind for Xet storage);
    # the bytes are checked against the listed sha256 after the transfer in any case.
    if f.sha256 and meta.etag and _SHA256.fullmatch(meta.etag) and meta.etag != f.sha256:
        raise DownloadError(
            f"The hub announced a different {f.path} than listed; start the download again.",
            details=f"listed sha256 {f.sha256}, ETag {meta.etag}",
        )


def _prepare_staging(staging: Path, plan: DownloadPlan) -> Path:
    """Reuse a staging folder made for the same commit and files; otherwise start it afresh."""
    manifest = staging / "plan.json"
    wanted = {"repo_id": plan.repo_id, "commit": plan.commit, "layout": plan.layout}
    wanted["files"] = [asdict(f) for f in plan.files]
    if manifest.is_file():
        try:
            same = json.loads(manifest.read_text()) == wanted
        except (OSError, ValueError):
            same = False
        if not same:
            shutil.rmtree(staging, ignore_errors=True)
    (staging / "files").mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(wanted, indent=1))
    return staging


def _have(files_dir: Path, f: HubFile) -> int:
    """Bytes of `f` already on disk (finished, or partial)."""
    for p in (files_dir / f.local, files_dir / (f.local + ".part")):
        if p.is_file():
            return min(p.stat().st_size, f.size)
    return 0


def _check_space(needed: int, models_dir: Path, free_space: Callable[[Path], int] | None) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    free = (free_space or (lambda p: shutil.disk_usage(p).free))(models_dir)
    margin = 64 * 2**20  # leave room for the rest of the system
    if needed + margin > free:
        raise DiskSpaceError(
            f"Not enough free disk space: the download needs {format_bytes(needed + margin)} but "
            f"{models_dir} has {format_bytes(free)} free.",
            details=f"needed {needed} bytes + {margin} bytes margin; free {free} bytes",
        )


def _source(plan: DownloadPlan) -> dict:
    return {"repo_id": plan.repo_id, "commit": plan.commit, "endpoint": plan.endpoint}
