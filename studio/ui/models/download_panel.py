"""The model manager's Download tab: recommended models, any repo id, progress, pause, cancel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.engine.hub.download import (
    ANY_REPO_PATTERNS,
    Recommended,
    hub_endpoint,
    load_recommended,
)
from studio.engine.hub.transfer import describe
from studio.session.downloads import DownloadManager, DownloadRequest
from studio.ui.error_banner import ErrorBanner
from studio.units import format_bytes

COLUMNS = ("Model", "Download size", "Licence", "Installed")


class DownloadPanel(QWidget):
    """Pick a recommended model or type a repo id; one download at a time with live progress."""

    installed = Signal(str)  # path of a model that was just downloaded and installed

    def __init__(
        self,
        downloads: DownloadManager,
        models_dir: str | Path,
        parent: QWidget | None = None,
        recommended: list[Recommended] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("DownloadPanel")
        self.downloads = downloads
        self.models_dir = Path(models_dir)
        self.recommended = load_recommended() if recommended is None else recommended
        self._build()
        self._connect()
        self.refresh()
        self._set_idle()

    # ---- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.table = QTreeWidget()
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setRootIsDecorated(False)
        self.table.setColumnWidth(0, 330)
        self.table.setColumnWidth(1, 100)
        self.table.setColumnWidth(2, 260)
        self.table.setToolTip("Models that work well in Studio; hover a row for its licence")
        for rec in self.recommended:
            item = QTreeWidgetItem(
                [rec.name, f"~{format_bytes(rec.approx_bytes)}", rec.licence, ""]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, rec.id)
            tip = f"{rec.repo_id}\n{rec.note}\nLicence: {rec.licence_note}"
            for col in range(len(COLUMNS)):
                item.setToolTip(col, tip)
            self.table.addTopLevelItem(item)
        self.about_label = QLabel()
        self.about_label.setWordWrap(True)
        self.download_button = QPushButton("Download")
        self.download_button.setToolTip("Download the chosen model into your models folder")
        self.repo_edit = QLineEdit()
        self.repo_edit.setPlaceholderText("any repo id on the hub, e.g. owner/model-name")
        self.repo_edit.setToolTip(
            "A Hugging Face repo id. Studio fetches its configs, model card and .safetensors "
            "weights (fp16 where the repo has them), not pickled files"
        )
        self.repo_button = QPushButton("Download repo")
        self.repo_button.setToolTip("Download this repo into your models folder")
        self.title_label = QLabel()
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.progress_label = QLabel()
        self.pause_button = QPushButton("Pause")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the download and delete what was downloaded so far")
        self.banner = ErrorBanner()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        where = QLabel(
            f"Downloads come from {hub_endpoint()} into {self.models_dir}. Only the model "
            "manager uses the network; nothing else in Studio downloads."
        )
        where.setWordWrap(True)
        pick_row = QHBoxLayout()
        pick_row.addWidget(self.about_label, 1)
        pick_row.addWidget(self.download_button)
        repo_row = QHBoxLayout()
        repo_row.addWidget(self.repo_edit, 1)
        repo_row.addWidget(self.repo_button)
        bar_row = QHBoxLayout()
        bar_row.addWidget(self.bar, 1)
        bar_row.addWidget(self.pause_button)
        bar_row.addWidget(self.cancel_button)
        column = QVBoxLayout(self)
        for part in (self.table, pick_row, repo_row, self.title_label, bar_row):
            column.addLayout(part) if isinstance(part, QHBoxLayout) else column.addWidget(part)
        for widget in (self.progress_label, self.banner, self.status_label, where):
            column.addWidget(widget)

    def _connect(self) -> None:
        self.table.currentItemChanged.connect(lambda *_: self._show_about())
        self.table.itemDoubleClicked.connect(lambda *_: self.download_selected())
        self.download_button.clicked.connect(self.download_selected)
        self.repo_button.clicked.connect(self.download_repo)
        self.repo_edit.returnPressed.connect(self.download_repo)
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.cancel_button.clicked.connect(self.downloads.cancel)
        d = self.downloads
        d.started.connect(self._on_started)
        d.planned.connect(self._on_planned)
        d.progress.connect(self._on_progress)
        d.paused.connect(self._on_paused)
        d.finished.connect(self._on_finished)
        d.failed.connect(self._on_failed)
        d.cancelled.connect(self._on_cancelled)

    # ---- actions --------------------------------------------------------------------------
    def selected(self) -> Recommended | None:
        item = self.table.currentItem()
        if item is None:
            return None
        wanted = item.data(0, Qt.ItemDataRole.UserRole)
        return next((r for r in self.recommended if r.id == wanted), None)

    def select(self, rec_id: str) -> None:
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == rec_id:
                self.table.setCurrentItem(item)

    def download_selected(self) -> bool:
        rec = self.selected()
        if rec is None:
            self.status_label.setText("Choose a model in the list first.")
            return False
        request = DownloadRequest(rec.repo_id, str(self.models_dir), rec.patterns, label=rec.name,
                                  variant=rec.variant)  # fmt: skip
        return self._start(request)

    def download_repo(self) -> bool:
        repo_id = self.repo_edit.text().strip().strip("/")
        if repo_id.count("/") != 1 or " " in repo_id:
            self.status_label.setText("Type a repo id as owner/name, e.g. stabilityai/sd-turbo.")
            return False
        return self._start(DownloadRequest(repo_id, str(self.models_dir), ANY_REPO_PATTERNS))

    def _start(self, request: DownloadRequest) -> bool:
        self.banner.dismiss()
        if not self.downloads.start(request):
            self.status_label.setText("One download at a time: wait for this one, or cancel it.")
            return False
        return True

    def _pause_or_resume(self) -> None:
        d = self.downloads
        if d.is_paused:
            d.resume()
        elif d.busy:
            d.pause()
        elif d.last_failed is not None:
            self.banner.dismiss()
            d.retry()

    def refresh(self) -> None:
        """Mark the recommended models already in the models folder."""
        for i, rec in enumerate(self.recommended):
            where = rec.installed(self.models_dir)
            item = self.table.topLevelItem(i)
            item.setText(3, "Installed" if where else "")
            if not rec.usable_in_studio:
                item.setText(3, (item.text(3) + " · not usable in Studio yet").lstrip(" ·"))
        self._show_about()

    def _show_about(self) -> None:
        rec = self.selected()
        self.about_label.setText(
            f"<b>{rec.name}</b> ({rec.repo_id}): {rec.note}<br>Licence: {rec.licence_note}"
            if rec
            else "Choose a model to see what it is for and its licence."
        )

    def shutdown(self, timeout: float = 5.0) -> bool:
        """The app is quitting: stop a download, keeping its partial files for next time."""
        return self.downloads.shutdown(timeout)

    # ---- download events (queued from the download thread) ---------------------------------
    def _set_idle(self) -> None:
        for w in (self.bar, self.progress_label, self.pause_button, self.cancel_button):
            w.setVisible(False)
        self.title_label.setText("")
        self.download_button.setEnabled(True)
        self.repo_button.setEnabled(True)

    def _on_started(self, request: DownloadRequest) -> None:
        self.title_label.setText(f"Asking the hub about {request.title}…")
        self.status_label.setText("")
        self.bar.setRange(0, 0)
        for w in (self.bar, self.progress_label, self.pause_button, self.cancel_button):
            w.setVisible(True)
        self.pause_button.setText("Pause")
        self.pause_button.setToolTip("Pause; the download continues where it stopped")
        self.progress_label.setText("")
        self.download_button.setEnabled(False)
        self.repo_button.setEnabled(False)

    def _on_planned(self, request: DownloadRequest, plan) -> None:
        self.title_label.setText(
            f"Downloading {request.title}: {len(plan.files)} files, "
            f"{format_bytes(plan.total_bytes)}"
        )
        files = [
            f"{f.path}  {format_bytes(f.size)}  {f.sha256 or f.blob_id or ''}" for f in plan.files
        ]
        self.title_label.setToolTip(f"{plan.repo_id} at {plan.commit[:12]}:\n" + "\n".join(files))
        self._scale = 1 if plan.total_bytes < 2**31 else 2**20  # QProgressBar holds ints
        self.bar.setRange(0, max(1, plan.total_bytes // self._scale))

    def _on_progress(self, p) -> None:
        scale = getattr(self, "_scale", 1)
        self.bar.setValue(min(p.done, p.total) // scale)
        self.progress_label.setText(describe(p))

    def _on_paused(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")

    def _on_finished(self, request: DownloadRequest, path: str) -> None:
        self._set_idle()
        self.status_label.setText(f"Installed {request.title} in {path}.")
        self.refresh()
        self.installed.emit(path)

    def _on_failed(self, request: DownloadRequest, message: str, details: str) -> None:
        self._set_idle()
        self.banner.show_error(message, details)
        self.pause_button.setText("Retry")
        self.pause_button.setToolTip("Continue the download from what is already on disk")
        self.cancel_button.setToolTip("Delete what was downloaded so far")
        self.pause_button.setVisible(True)
        self.cancel_button.setVisible(True)

    def _on_cancelled(self, request: DownloadRequest, kept: bool) -> None:
        self._set_idle()
        self.status_label.setText(
            f"Stopped {request.title}; it continues next time."
            if kept
            else f"Cancelled {request.title}; the partial download was deleted."
        )
