"""DownloadManager: its own thread, signals, and quitting mid-download keeps the partial files."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt

from studio.engine.hub import download as hub
from studio.session.downloads import THREAD_NAME, DownloadManager, DownloadRequest
from tests.engine.hub.test_hub import LOCAL, REPO, WEIGHTS, _files
from tests.fakehub import FakeHub


def test_runs_off_the_gui_thread_and_shutdown_keeps_partial_files(qtbot, tmp_path):
    with FakeHub() as fake:
        fake.add_repo(REPO, _files())
        fake.faults.bytes_per_second = 300_000
        downloads = DownloadManager(endpoint=fake.endpoint)
        reports: list[tuple[str, hub.DownloadProgress]] = []
        downloads.progress.connect(lambda p: reports.append((threading.current_thread().name, p)))
        workers: list[str] = []
        downloads.started.connect(
            lambda r: workers.append(threading.current_thread().name),
            type=Qt.ConnectionType.DirectConnection,
        )
        request = DownloadRequest(REPO, str(tmp_path), ("*.json", "*.safetensors"))
        assert downloads.start(request)
        assert not downloads.start(request)  # one at a time
        qtbot.waitUntil(
            lambda: any(p.file == WEIGHTS and p.done > 300_000 for _, p in reports), timeout=10000
        )
        assert workers == [THREAD_NAME]  # the network work runs on the download thread
        assert {name for name, _ in reports} == {"MainThread"}  # reports are queued to the GUI
        with qtbot.waitSignal(downloads.cancelled, timeout=10000) as stopped:
            assert downloads.shutdown(10)
        assert stopped.args[1] is True  # the partial files were kept
        part = hub.staging_dir(tmp_path, "acme--tiny-model") / "files" / (LOCAL + ".part")
        kept = part.stat().st_size
        assert kept > 0
        fake.faults.bytes_per_second = 0
        with qtbot.waitSignal(downloads.finished, timeout=20000):
            downloads.start(request)
        assert fake.requests("GET", WEIGHTS)[-1].range == f"bytes={kept}-"
        assert downloads.wait(5)
