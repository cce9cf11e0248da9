"""Composition root of the desktop app: QApplication, wiring, excepthooks."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

import studio
from studio.app.logs import setup_logging
from studio.document.document import Document
from studio.io.paths import user_data_dir, user_models_dir
from studio.io.recovery import claim, find_recoverable, set_aside
from studio.session.controllers import Controllers
from studio.session.convert import Converter
from studio.session.downloads import DownloadManager
from studio.session.explore_jobs import ExploreBatch
from studio.session.jobs import JobQueue
from studio.session.live_draft import LiveDraft
from studio.session.model_import import ModelImporter
from studio.session.run_export_job import RunExporter
from studio.session.run_history import RunHistory
from studio.session.saver import BackgroundSaver
from studio.session.session import GenerationSession
from studio.session.translate import Translator
from studio.ui.main_window import MainWindow
from studio.worker.worker import GenerationWorker

log = logging.getLogger(__name__)


def make_engine():
    """The real engine (imported here so the window can be built with a fake one in tests)."""
    from studio.engine.router import EngineRouter

    return EngineRouter()  # diffusion requests to DiffusionEngine, GAN requests to GanEngine


def build_controllers(engine=None) -> Controllers:
    """Document, worker, the one job queue and every controller that owns jobs."""
    document = Document(512, 512)
    worker = GenerationWorker(engine if engine is not None else make_engine())
    jobs = JobQueue(worker)
    return Controllers(
        document=document,
        worker=worker,
        jobs=jobs,
        session=GenerationSession(document, jobs),
        live_draft=LiveDraft(document, jobs),
        translator=Translator(document, jobs),
        converter=Converter(jobs),
        run_history=RunHistory(document, jobs),
        run_exporter=RunExporter(),
        explore_batch=ExploreBatch(document, jobs),
        downloads=DownloadManager(),
        importer=ModelImporter(),
        saver=BackgroundSaver(),
    )


def build_window(engine=None, settings: QSettings | None = None) -> MainWindow:
    """Controllers + window; the caller owns the QApplication."""
    controllers = build_controllers(engine)
    settings = settings or QSettings(
        str(user_data_dir() / "settings.ini"), QSettings.Format.IniFormat
    )
    window = MainWindow(controllers, settings)
    controllers.adopt(window)
    return window


def install_excepthooks(window: MainWindow) -> None:
    """Uncaught errors are logged and shown in the banner instead of killing the app."""

    def gui_hook(kind, value, tb) -> None:
        details = "".join(traceback.format_exception(kind, value, tb))
        log.error("uncaught exception:\n%s", details)
        window.banner.show_error(f"Something went wrong: {kind.__name__}: {value}", details)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        log.error(
            "uncaught exception in %s",
            args.thread.name if args.thread else "?",
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )

    sys.excepthook = gui_hook
    threading.excepthook = thread_hook


def _ask_restore(window: MainWindow, when: str, index: int, count: int) -> bool:
    from PySide6.QtWidgets import QMessageBox

    which = f" (copy {index} of {count}, newest first)" if count > 1 else ""
    answer = QMessageBox.question(
        window,
        "Restore unsaved work?",
        f"Studio did not close normally. Work autosaved at {when} can be restored{which}.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


def offer_recovery(window: MainWindow, ask=None) -> bool:
    """Offer every autosave a previous Studio left (crash or kill), newest first, until one is
    restored. Handled copies are moved aside (renamed), never deleted; a damaged one is kept
    as `damaged-…` with a banner, and startup goes on. Returns True if one was restored."""
    items = find_recoverable()
    restored = False
    for index, item in enumerate(items, 1):
        if restored:
            set_aside(item, "previous")
            continue
        when = time.strftime("%H:%M on %d %b", time.localtime(item.saved_at))
        if not (ask or _ask_restore)(window, when, index, len(items)):
            set_aside(item, "previous")
            continue
        try:
            window.restore_recovered(item.path)
            restored = True
            set_aside(item, "restored")
        except Exception as exc:  # a damaged autosave must never stop Studio from starting
            detail = not hasattr(exc, "message")  # a StudioError says enough; others: trace
            log.warning("autosave %s could not be restored: %s", item.path, exc, exc_info=detail)
            kept = set_aside(item, "damaged")
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            window.banner.show_error(
                f"An autosave could not be restored; it is kept as {kept.name}.",
                f"{message}\n{kept}",
            )
    return restored


def run_gui(argv: list[str] | None = None, open_path: str | None = None) -> int:
    """Open the window (and `open_path`, a project or an image, once it is shown)."""
    log_path = setup_logging()
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("Studio")
    app.setApplicationVersion(studio.__version__)
    app.setOrganizationName("Studio")
    log.info("Studio %s starting; log at %s", studio.__version__, log_path)
    try:
        user_models_dir().mkdir(parents=True, exist_ok=True)  # a place to drop models into
    except OSError as exc:
        log.warning("cannot create %s: %s", user_models_dir(), exc)
    window = build_window()
    install_excepthooks(window)
    window.show()
    offer_recovery(window)
    claim()
    if open_path is not None:
        window.open_file(open_path)
    if not os.environ.get("STUDIO_NO_PRELOAD"):
        from studio.engine.preload import preload_in_background

        # ~10 s of imports on a 2-core CPU, done while the artist looks around
        QTimer.singleShot(300, preload_in_background)
    return app.exec()
