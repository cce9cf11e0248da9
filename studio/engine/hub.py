"""Download models from the Hugging Face Hub: plan, check space, resumable fetch, verify, install.

Layout: files arrive in `<models>/.downloads/<name>/files/<path>.part`, each is verified (LFS
sha256, or the git blob id for small files) and renamed to `<path>`, and when every file is good the
`files` folder is renamed to `<models>/<name>` in one step, so a model folder is either complete or
absent. Pause, a dropped connection, a full disk or a crash keep the staging folder; the next
`download` of the same plan continues each .part file with an HTTP Range request. Cancel removes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from studio.engine.hub_transfer import (
    CHUNK_BYTES,
    ChecksumError,
    DiskSpaceError,
    DownloadCancelled,
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

__all__ = [
    "CHUNK_BYTES",
    "ChecksumError",
    "DiskSpaceError",
    "DownloadCancelled",
    "DownloadControl",
    "DownloadError",
    "DownloadProgress",
    "DownloadPlan",
    "HubFile",
    "download",
    "folder_name",
    "hub_endpoint",
    "plan_download",
]

STAGING = ".downloads"
SOURCE_FILE = "studio-download.json"  # written into the installed folder: where it came from


@dataclass(frozen=True)
class HubFile:
    """One file to fetch: path in the repo, size in bytes, and how to check it."""

    path: str
    size: int
    sha256: str | None  # LFS files
    blob_id: str | None  # git object id (sha1 of "blob <size>\0" + bytes) for non-LFS files


@dataclass(frozen=True)
class DownloadPlan:
    """What a download will fetch: a repo pinned to one commit, its files and total size."""

    repo_id: str
    commit: str
    files: tuple[HubFile, ...]
    endpoint: str
    name: str

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def hub_endpoint(endpoint: str | None = None) -> str:
    """The hub to talk to: the argument, else HF_ENDPOINT (read now), else huggingface.co."""
    from huggingface_hub import constants

    return (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def folder_name(repo_id: str) -> str:
    """`stabilityai/sd-turbo` → `stabilityai--sd-turbo` (the folder it is installed as)."""
    return repo_id.strip("/").replace("/", "--")


def plan_download(
    repo_id: str,
    *,
    revision: str | None = None,
    allow_patterns: Sequence[str] | None = None,
    filename: str | None = None,
    endpoint: str | None = None,
    name: str | None = None,
) -> DownloadPlan:
    """Ask the hub which files (sizes, checksums) `repo_id` has; one network call, no download."""
    from huggingface_hub import HfApi
    from huggingface_hub.utils import filter_repo_objects

    url = hub_endpoint(endpoint)
    with network_allowed(), hub_errors(repo_id, url):
        info = HfApi(endpoint=url).model_info(repo_id, revision=revision, files_metadata=True)
    siblings = list(info.siblings or [])
    if filename is not None:
        chosen = [s for s in siblings if s.rfilename == filename]
        if not chosen:
            raise DownloadError(
                f"{repo_id} has no file called {filename}.", details=_names(siblings)
            )
    else:
        patterns = list(allow_patterns) if allow_patterns else None
        chosen = list(
            filter_repo_objects(siblings, allow_patterns=patterns, key=lambda s: s.rfilename)
        )
        if not chosen:
            raise DownloadError(
                f"No file of {repo_id} matches {', '.join(patterns or [])}.",
                details=_names(siblings),
            )
    files = tuple(
        HubFile(s.rfilename, int(s.size or 0), s.lfs.sha256 if s.lfs else None, s.blob_id)
        for s in chosen
    )
    for f in files:
        _safe_relative(f.path)
    return DownloadPlan(repo_id, str(info.sha), files, url, name or folder_name(repo_id))


def download(
    plan: DownloadPlan,
    models_dir: Path,
    *,
    on_progress: Callable[[DownloadProgress], None] | None = None,
    control: DownloadControl | None = None,
    free_space: Callable[[Path], int] | None = None,
    open_file: Callable[[Path], object] = open_part,
) -> Path:
    """Fetch, verify and install `plan` as `<models_dir>/<plan.name>`; returns that folder."""
    control = control or DownloadControl()
    models_dir = Path(models_dir)
    target = models_dir / plan.name
    if target.exists():
        raise DownloadError(
            f"{plan.name} is already installed.", details=f"{target} exists; remove it first."
        )
    staging = _prepare_staging(models_dir / STAGING / plan.name, plan)
    files_dir = staging / "files"
    done = sum(_have(files_dir, f) for f in plan.files)
    _check_space(plan.total_bytes - done, models_dir, free_space)
    meter = ProgressMeter(plan.total_bytes, done, on_progress)
    try:
        for f in plan.files:
            if not (files_dir / f.path).is_file():
                _fetch(plan, f, files_dir, meter, control, open_file)
        meter.emit("installing")
        (files_dir / SOURCE_FILE).write_text(json.dumps(_source(plan), indent=1))
        os.replace(files_dir, target)  # one rename: the model folder appears complete
    except DownloadCancelled:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return target


def staging_dir(models_dir: Path, name: str) -> Path:
    """Where a download of `name` keeps its partial files."""
    return Path(models_dir) / STAGING / name


def _fetch(plan, f: HubFile, files_dir: Path, meter, control, open_file) -> None:
    """Download one file to <path>.part (resuming), verify it, rename it to <path>."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.file_download import http_get

    part = files_dir / (f.path + ".part")
    meter.file = f.path
    url = hf_hub_url(plan.repo_id, f.path, revision=plan.commit, endpoint=plan.endpoint)
    while True:
        if control.cancelled:
            raise DownloadCancelled()
        if control.paused:
            meter.emit("paused")
            while not control.wait_resumed():
                pass
            if control.cancelled:
                raise DownloadCancelled()
            meter.restart_speed()
        try:
            with network_allowed(), hub_errors(plan.repo_id, plan.endpoint):
                meta = get_hf_file_metadata(url, endpoint=plan.endpoint)
                _check_remote(plan, f, meta)
                resume = part.stat().st_size if part.exists() else 0
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
    os.replace(part, files_dir / f.path)


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
    if f.sha256 and meta.etag and meta.etag != f.sha256:
        raise DownloadError(
            f"The hub announced a different {f.path} than listed; start the download again.",
            details=f"listed sha256 {f.sha256}, ETag {meta.etag}",
        )


def _prepare_staging(staging: Path, plan: DownloadPlan) -> Path:
    """Reuse a staging folder made for the same commit and files; otherwise start it afresh."""
    manifest = staging / "plan.json"
    wanted = {"repo_id": plan.repo_id, "commit": plan.commit}
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
    for p in (files_dir / f.path, files_dir / (f.path + ".part")):
        if p.is_file():
            return min(p.stat().st_size, f.size)
    return 0


def _check_space(needed: int, models_dir: Path, free_space: Callable[[Path], int] | None) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    free = (free_space or (lambda p: shutil.disk_usage(p).free))(models_dir)
    margin = 64 * 2**20  # leave room for the rest of the system
    if needed + margin > free:
        raise DiskSpaceError(
            f"Not enough free disk space: the download needs {_mb(needed + margin)} but "
            f"{models_dir} has {_mb(free)} free.",
            details=f"needed {needed} bytes + {margin} bytes margin; free {free} bytes",
        )


def _mb(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def _source(plan: DownloadPlan) -> dict:
    return {"repo_id": plan.repo_id, "commit": plan.commit, "endpoint": plan.endpoint}


def _names(siblings) -> str:
    return "files in the repo: " + ", ".join(s.rfilename for s in siblings[:50])


def _safe_relative(path: str) -> None:
    """Refuse paths that would land outside the model folder (absolute, `..`)."""
    parts = Path(path).parts
    if Path(path).is_absolute() or ".." in parts or not parts or "\\" in path:
        raise DownloadError("The hub listed a file with an unsafe path.", details=repr(path))
