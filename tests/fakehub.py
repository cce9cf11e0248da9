"""A local fake of the Hugging Face Hub: real HTTP servers on 127.0.0.1 with fault injection.

It serves the calls `huggingface_hub` makes for a download:
`GET /api/models/<repo>[/revision/<rev>]?blobs=True` (file list with sizes, git blob ids, LFS
sha256), `HEAD /<repo>/resolve/<rev>/<path>` (X-Repo-Commit, ETag, and for LFS files a 302 to a
*second* origin, the "CDN", carrying X-Linked-Etag / X-Linked-Size, as the real hub does) and
ranged `GET` on both (Range -> 206 with Content-Range). Faults: drop the connection after N bytes,
serve corrupted bytes, throttle. Every request is logged (origin, method, path, Range, status).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth", ".onnx")


def git_blob_id(data: bytes) -> str:
    """The git object id of a blob (what the hub's `blobId` / plain-file ETag is)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class FakeFile:
    """One file of a fake repo; `lfs` files are served through the CDN origin."""

    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def pointer(self) -> bytes:
        text = f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\n"
        return (text + f"size {len(self.data)}\n").encode()


@dataclass
class Faults:
    """Fault injection, shared by both origins; counters are consumed as faults fire."""

    drop_after: dict[str, int] = field(default_factory=dict)  # path -> bytes sent before a drop
    drops_left: dict[str, int] = field(default_factory=dict)  # path -> how many GETs drop
    drop_plan: dict[str, list[int]] = field(default_factory=dict)  # path -> per-GET drop points
    corrupt: set[str] = field(default_factory=set)  # paths served with one byte flipped
    bytes_per_second: float = 0.0  # 0 = full speed; else per GET response


@dataclass
class Request:
    """One logged request: which origin, method, path, Range header and status sent."""

    origin: str
    method: str
    path: str
    range: str | None
    status: int


class FakeHub:
    """Two threaded servers (hub API + CDN) on random ports; use as a context manager."""

    def __init__(self) -> None:
        self.repos: dict[str, tuple[str, dict[str, FakeFile]]] = {}
        self.faults = Faults()
        self.log: list[Request] = []
        self._lock = threading.Lock()
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self.endpoint = ""
        self.cdn = ""

    def add_repo(self, repo_id: str, files: dict[str, bytes], lfs: set[str] | None = None) -> str:
        """Add a repo; returns its commit sha. LFS = `lfs` or weight-like suffixes by default."""
        lfs = {p for p in files if p.endswith(LFS_SUFFIXES)} if lfs is None else lfs
        fake = {p: FakeFile(d, p in lfs) for p, d in files.items()}
        commit = hashlib.sha1(
            repo_id.encode() + b"".join(f.pointer() for f in fake.values())
        ).hexdigest()
        self.repos[repo_id] = (commit, fake)
        return commit

    def requests(self, method: str | None = None, path_contains: str = "") -> list[Request]:
        with self._lock:
            return [
                r
                for r in self.log
                if (method is None or r.method == method) and path_contains in r.path
            ]

    def __enter__(self) -> FakeHub:
        for origin in ("hub", "cdn"):
            server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self, origin))
            server.daemon_threads = True
            thread = threading.Thread(
                target=server.serve_forever, args=(0.05,), name=f"fakehub-{origin}"
            )
            thread.daemon = True
            thread.start()
            self._servers.append(server)
            self._threads.append(thread)
        self.endpoint = f"http://127.0.0.1:{self._servers[0].server_port}"
        self.cdn = f"http://127.0.0.1:{self._servers[1].server_port}"
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    # -- request handling (called from server threads) --------------------------------------

    def _record(self, origin: str, method: str, path: str, rng: str | None, status: int) -> None:
        with self._lock:
            self.log.append(Request(origin, method, path, rng, status))

    def _find(self, repo_id: str, revision: str) -> tuple[str, dict[str, FakeFile]] | str:
        if repo_id not in self.repos:
            return "RepoNotFound"
        commit, files = self.repos[repo_id]
        if revision not in ("main", commit):
            return "RevisionNotFound"
        return commit, files

    def model_info(self, repo_id: str, revision: str) -> tuple[int, dict, dict]:
        found = self._find(repo_id, revision)
        if isinstance(found, str):
            return _error(found)
        commit, files = found
        siblings = []
        for path, f in sorted(files.items()):
            entry: dict = {"rfilename": path, "size": len(f.data)}
            entry["blobId"] = git_blob_id(f.pointer() if f.lfs else f.data)
            if f.lfs:
                entry["lfs"] = {"sha256": f.sha256, "size": len(f.data), "pointerSize": 130}
            siblings.append(entry)
        return 200, {}, {"id": repo_id, "sha": commit, "siblings": siblings, "private": False}

    def take_drop(self, path: str) -> int | None:
        """Bytes to send before dropping this GET of `path`, or None (consumes one drop)."""
        with self._lock:
            if self.faults.drop_plan.get(path):
                return self.faults.drop_plan[path].pop(0)
            left = self.faults.drops_left.get(path, 0)
            if path not in self.faults.drop_after or left <= 0:
                return None
            self.faults.drops_left[path] = left - 1
            return self.faults.drop_after[path]


def _error(code: str) -> tuple[int, dict, dict]:
    status = 401 if code == "RepoNotFound" else 404
    return status, {"X-Error-Code": code}, {"error": code}


_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+?)(?:/revision/(?P<rev>[^/]+))?$")
_CDN = re.compile(r"^/cdn/(?P<repo>[^/]+/[^/]+)/(?P<sha>[0-9a-f]{64})/(?P<path>.+)$")


def _handler_for(hub: FakeHub, origin: str) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        pass

    Handler.hub = hub
    Handler.origin = origin
    return Handler


class _Handler(BaseHTTPRequestHandler):
    """Routes one request of one origin ("hub" or "cdn")."""

    protocol_version = "HTTP/1.1"
    hub: FakeHub
    origin: str

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet server
        pass

    def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
        self._route(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._route(head=False)

    def _route(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if self.origin == "hub" and (m := _API.match(path)):
            status, headers, body = self.hub.model_info(m["repo"], m["rev"] or "main")
            self._send_json(status, headers, body, path)
        elif self.origin == "hub" and (m := _RESOLVE.match(path)):
            self._resolve(m["repo"], m["rev"], m["path"], head, path)
        elif self.origin == "cdn" and (m := _CDN.match(path)):
            self._cdn(m["repo"], m["sha"], m["path"], head, path)
        else:
            self._send_json(404, {}, {"error": "not found"}, path)

    def _resolve(self, repo_id: str, rev: str, file_path: str, head: bool, path: str) -> None:
        found = self.hub._find(repo_id, rev)
        if isinstance(found, str) or file_path not in found[1]:
            status, headers, body = _error(found if isinstance(found, str) else "EntryNotFound")
            self._send_json(status, headers, body, path)
            return
        commit, files = found
        f = files[file_path]
        headers = {"X-Repo-Commit": commit, "Accept-Ranges": "bytes"}
        if f.lfs:
            cdn_url = f"{self.hub.cdn}/cdn/{repo_id}/{f.sha256}/{quote(file_path)}"
            headers |= {"Location": cdn_url, "X-Linked-Etag": f'"{f.sha256}"'}
            headers |= {"X-Linked-Size": str(len(f.data)), "ETag": f'"{git_blob_id(f.pointer())}"'}
            self._send(302, headers, b"", path)
            return
        headers["ETag"] = f'"{git_blob_id(f.data)}"'
        self._send_file(f.data, file_path, headers, head, path)

    def _cdn(self, repo_id: str, sha: str, file_path: str, head: bool, path: str) -> None:
        files = self.hub.repos.get(repo_id, ("", {}))[1]
        f = files.get(file_path)
        if f is None or f.sha256 != sha:
            self._send(403, {}, b"signature expired", path)
            return
        self._send_file(
            f.data, file_path, {"ETag": f'"{sha}"', "Accept-Ranges": "bytes"}, head, path
        )

    def _send_file(self, data: bytes, file_path: str, headers: dict, head: bool, path: str) -> None:
        if file_path in self.hub.faults.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:] if data else data
        start, status = 0, 200
        rng = self.headers.get("Range")
        if rng and (m := re.fullmatch(r"bytes=(\d+)-", rng.strip())):
            start = int(m[1])
            if start >= len(data):
                self._send(416, {"Content-Range": f"bytes */{len(data)}"}, b"", path)
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        headers["Content-Length"] = str(len(body))
        self.hub._record(self.origin, self.command, path, rng, status)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self._stream(body, self.hub.take_drop(file_path))

    def _stream(self, body: bytes, drop_at: int | None) -> None:
        """Write the body in 16 KiB pieces, throttled; close abruptly at `drop_at` bytes."""
        sent, piece = 0, 16 * 1024
        rate = self.hub.faults.bytes_per_second
        while sent < len(body):
            end = min(len(body), sent + piece)
            if drop_at is not None and end >= drop_at:
                self.wfile.write(body[sent:drop_at])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)  # SHUT_RDWR: the client sees a truncated body
                return
            try:
                self.wfile.write(body[sent:end])
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                return  # the client went away (cancel / pause)
            sent = end
            if rate:
                time.sleep(piece / rate)

    def _send_json(self, status: int, headers: dict, body: dict, path: str) -> None:
        self._send(
            status, headers | {"Content-Type": "application/json"}, json.dumps(body).encode(), path
        )

    def _send(self, status: int, headers: dict, body: bytes, path: str) -> None:
        self.hub._record(self.origin, self.command, path, self.headers.get("Range"), status)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
