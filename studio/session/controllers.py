"""The session controllers of one window, built by the composition root and handed to the UI."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject

from studio.document.document import Document
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
from studio.worker.worker import GenerationWorker


@dataclass(frozen=True)
class Controllers:
    """Everything a window drives: one document, one worker, one job queue and their owners."""

    document: Document
    worker: GenerationWorker
    jobs: JobQueue
    session: GenerationSession
    live_draft: LiveDraft
    translator: Translator
    converter: Converter
    run_history: RunHistory
    run_exporter: RunExporter
    explore_batch: ExploreBatch
    downloads: DownloadManager  # the only part of Studio that downloads
    importer: ModelImporter  # adds models from disk (the model manager's Add / Convert)
    saver: BackgroundSaver  # the one file thread for saves, autosaves and PNG exports

    def adopt(self, parent: QObject) -> None:
        """Give every controller to `parent` (the window), so they live and go with it."""
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name != "document" and isinstance(value, QObject):
                value.setParent(parent)
