"""Low-level parts of a hub download: network permission, progress, pause/cancel, part files."""

from __future__ import annotations

import contextlib
import contextvars
import errno
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from studio.errors import Cancelled, StudioError
from studio.units import format_bytes

# huggingface_hub streams in chunks of this many bytes; bytes of an unfinished chunk are lost
# when a connection drops, and cancel/pause is noticed once per chunk. Its default is 10 MiB.
CHUNK_BYTES = 256 * 1024

_network_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "studio_hub_network", default=False
)
_patch_lock = threading.Lock()


class DownloadError(StudioError):
    """A download could not finish (network, hub answer, missing file); the partial one is kept."""


class ChecksumError(DownloadError):
    """A downloaded file's bytes do not match the hub's checksum; nothing was installed."""


class DiskSpaceError(DownloadError):
    """Not enough free disk space for the download (checked before starting, or a full disk)."""


class _Paused(Exception):  # noqa: N818 - internal control flow
    """Raised inside the transfer to close the connection while paused."""


@dataclass(frozen=True)
class DownloadProgress:
    """A progress report: bytes done/total for the whole download, speed (bytes/s), ETA (s)."""

    done: int
    total: int
    speed: float
    eta: float | None
    file: str
    state: str = "downloading"  # "downloading" | "paused" | "verifying" | "installing"


class DownloadControl:
    """Thread-safe pause/resume/cancel flags a running download polls once per chunk."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self.keep_partial = False

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def cancel(self, keep_partial: bool = False) -> None:
        """Stop; the staging folder is removed unless `keep_partial` (app quitting)."""
        self.keep_partial = keep_partial
        self._cancel.set()
        self._running.set()  # wake a paused download so it can clean up

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise Cancelled(kept=self.keep_partial)

    def check(self) -> None:
        """Raise Cancelled or _Paused (the caller reconnects after `wait_resumed`)."""
        if self._cancel.is_set():
            raise Cancelled(kept=self.keep_partial)
        if not self._running.is_set():
            raise _Paused()

    def wait_resumed(self, timeout: float = 0.2) -> bool:
        return self._running.wait(timeout)


class ProgressMeter:
    """Counts bytes and reports speed over the last few seconds, at most ~10 reports a second."""

    def __init__(self, total: int, done: int, report: Callable[[DownloadProgress], None] | None):
        self.total, self.done, self._report = total, done, report
        self.file = ""
        self._samples: deque[tuple[float, int]] = deque([(time.monotonic(), done)])
        self._last_report = 0.0

    def add(self, nbytes: int) -> None:
        self.done += nbytes
        now = time.monotonic()
        self._samples.append((now, self.done))
        while len(self._samples) > 2 and now - self._samples[0][0] > 5.0:
            self._samples.popleft()
        if now - self._last_report >= 0.1:
            self.emit()

    def speed(self) -> float:
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0

    def emit(self, state: str = "downloading") -> None:
        self._last_report = time.monotonic()
        if self._report is None:
            return
        speed = self.speed()
        eta = (self.total - self.done) / speed if speed > 0 else None
        self._report(DownloadProgress(self.done, self.total, speed, eta, self.file, state))

    def restart_speed(self) -> None:
        """After a pause the old samples would make the speed look low."""
        self._samples = deque([(time.monotonic(), self.done)])


class PartWriter:
    """The file object huggingface_hub writes into: appends to a .part file, counts, polls."""

    def __init__(self, raw: BinaryIO, meter: ProgressMeter, control: DownloadControl) -> None:
        self._raw, self._meter, self._control = raw, meter, control

    def write(self, chunk: bytes) -> int:
        self._control.check()  # before writing, so the .part file always ends on a whole chunk
        try:
            written = self._raw.write(chunk)
            self._raw.flush()
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskSpaceError(
                    "The disk is full: the download stopped. Free some space, then resume it.",
                    details=f"{exc} while writing {getattr(self._raw, 'name', '?')}",
                ) from exc
            raise
        self._meter.add(len(chunk))
        return written

    # huggingface_hub rewinds when a server ignores Range and answers 200 with the whole file.
    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def truncate(self, size: int | None = None) -> int:
        return self._raw.truncate(size)


def open_part(path: Path) -> BinaryIO:
    """Open a partial file for appending (a test seam: tests pass one that fails with ENOSPC)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "ab")  # noqa: SIM115 - closed by the caller


@contextlib.contextmanager
def network_allowed() -> Iterator[None]:
    """Let huggingface_hub reach the network in this thread only, even with HF_HUB_OFFLINE=1.

    The app runs with offline defaults so nothing else can download; the model manager's
    download thread is the one exception. The check huggingface_hub calls on every request is
    wrapped once so that it answers "online" only inside this context (a ContextVar, so other
    threads stay offline).
    """
    from huggingface_hub import constants

    with _patch_lock:
        if not getattr(constants.is_offline_mode, "_studio_wrapped", False):
            original = constants.is_offline_mode

            def is_offline_mode() -> bool:
                return False if _network_allowed.get() else original()

            is_offline_mode._studio_wrapped = True  # type: ignore[attr-defined]
            constants.is_offline_mode = is_offline_mode
        constants.DOWNLOAD_CHUNK_SIZE = CHUNK_BYTES
    token = _network_allowed.set(True)
    try:
        yield
    finally:
        _network_allowed.reset(token)


@contextlib.contextmanager
def hub_errors(repo_id: str, endpoint: str) -> Iterator[None]:
    """Turn huggingface_hub / network exceptions into DownloadError with plain words."""
    import httpx2  # huggingface_hub's HTTP client
    from huggingface_hub import errors

    try:
        yield
    except errors.GatedRepoError as exc:
        raise DownloadError(
            f"{repo_id} needs permission: accept its licence on the model page and log in "
            "(huggingface-cli login) first.",
            details=str(exc),
        ) from exc
    except errors.RepositoryNotFoundError as exc:
        raise DownloadError(
            f"There is no model called {repo_id} on {endpoint} (or it is private).",
            details=str(exc),
        ) from exc
    except errors.RevisionNotFoundError as exc:
        raise DownloadError(f"{repo_id} has no such version.", details=str(exc)) from exc
    except errors.RemoteEntryNotFoundError as exc:
        raise DownloadError(
            f"A file of {repo_id} is missing on the hub.", details=str(exc)
        ) from exc
    except errors.HfHubHTTPError as exc:
        raise DownloadError(
            f"The hub refused the download of {repo_id}; the partial download is kept.",
            details=str(exc),
        ) from exc
    except (httpx2.HTTPError, ConnectionError) as exc:
        raise DownloadError(
            f"Could not reach {endpoint} (network problem). The partial download is kept: "
            "resume it when the connection is back.",
            details=f"{type(exc).__name__}: {exc}",
        ) from exc
    except OSError as exc:
        raise DownloadError(
            f"The download of {repo_id} stopped: {exc.strerror or exc}. The partial download is "
            "kept; resume it to continue.",
            details=f"{type(exc).__name__}: {exc}",
        ) from exc


def human_eta(seconds: float | None) -> str:
    if seconds is None:
        return "time left unknown"
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


def describe(p: DownloadProgress) -> str:
    """One line for a progress bar: "412.0 MB of 2.6 GB (15%) · 12.3 MB/s · about 3 min left"."""
    share = f" ({100 * p.done // p.total}%)" if p.total else ""
    head = f"{format_bytes(p.done)} of {format_bytes(p.total)}{share}"
    if p.state == "paused":
        return f"Paused at {head}"
    if p.state in ("verifying", "installing"):
        return f"{p.state.capitalize()} {p.file or ''}: {head}".replace(" :", ":")
    return f"{head} · {format_bytes(p.speed)}/s · {human_eta(p.eta)}"


def offline_by_default() -> None:
    """Studio's network rule: huggingface_hub/transformers stay offline everywhere except inside
    `network_allowed()` (the model manager's downloads). Called first thing by the `studio`
    command, before the libraries read their settings; applied now if they already did."""
    import os
    import sys

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
