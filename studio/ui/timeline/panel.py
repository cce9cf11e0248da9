"""The Timeline dock: scrub, play and export the recorded steps of a run; decode or promote one."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.session.run_export_job import RunExporter
from studio.session.run_history import RecordedRun, RunHistory
from studio.ui.timeline.plots import Filmstrip, StepImage, StepPlot

RECORD_MB_KEY = "timeline/record_mb"
RECORD_MB_DEFAULT = 256
COMPACT_SLACK = 60  # px taller than the strip needs: the artist wants the whole panel
VIEW_CHOICES = (("x_t", "xt"), ("x0", "x0"), ("Δ", "delta"), ("Noise removed", "noise"))
EXPORT_FILTERS = "Animated GIF (*.gif);;Animated WebP (*.webp);;MP4 video (*.mp4)"
DECODE_TIP = "Decode this step's predicted image (on the worker)"
DECODER_TIP = "Full VAE: the exact picture; tiny decoder: the TAESD this run previewed with"
PIXELS_TIP = (
    "Nothing to decode: this model works on pixels, not VAE latents, so every step's x0 "
    "already is its exact picture (shown at the output size)"
)


def record_cap_bytes(settings: QSettings) -> int:
    """Memory for the full-size frames of one run's record (Preferences)."""
    return max(0, int(settings.value(RECORD_MB_KEY, RECORD_MB_DEFAULT))) * 2**20


class TimelinePanel(QWidget):
    """Shows one recorded run at a time; the newest run is shown when it starts and grows live."""

    error_raised = Signal(str, str)
    notice = Signal(str)
    compact_changed = Signal(bool)

    def __init__(self, history: RunHistory, exporter: RunExporter, parent=None) -> None:
        super().__init__(parent)
        self.history = history
        self.exporter = exporter
        self.index = 0
        self.compact = False
        self._build()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.advance)
        history.runs_changed.connect(self._on_runs_changed)
        history.run_updated.connect(self._on_run_updated)
        history.step_decoded.connect(self._on_decoded)
        history.error_raised.connect(self.error_raised)
        exporter.progressed.connect(self._on_export_progress)
        exporter.finished.connect(self._on_export_finished)
        exporter.failed.connect(self._on_export_failed)
        exporter.cancelled.connect(lambda: self._export_done("Export cancelled"))
        self._on_runs_changed()

    # ---- construction ---------------------------------------------------------------------
    def _build(self) -> None:
        self.run_combo = QComboBox()
        self.run_combo.setToolTip("Which recorded run to show (newest last)")
        self.run_combo.setMinimumContentsLength(12)
        self.run_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.view_combo = QComboBox()
        for text, key in VIEW_CHOICES:
            self.view_combo.addItem(text, key)
        self.view_combo.setCurrentIndex(1)
        self.view_combo.setToolTip(
            "x_t: the noisy state; x0: the predicted image; Δ: change since the previous "
            "step; Noise removed: what this step took away"
        )
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the steps as an animation (loops)")
        self.speed_spin = QSpinBox()
        self.speed_spin.setRange(1, 30)
        self.speed_spin.setValue(8)
        self.speed_spin.setSuffix(" steps/s")
        self.speed_spin.setToolTip("Playback and export speed")
        self.decode_button = QPushButton("Decode")
        self.decode_button.setToolTip(DECODE_TIP)
        self.decoder_combo = QComboBox()
        self.decoder_combo.setToolTip(DECODER_TIP)
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip(
            "Run the rest of this stopped run from its last step (same seed): the result is "
            "the image the full run would have made"
        )
        self.promote_button = QPushButton("To layer")
        self.promote_button.setToolTip("Add this step, as shown, as a new layer (undoable)")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the run as GIF, WebP, MP4 (needs ffmpeg) or PNGs")
        self.export_progress = QProgressBar()
        self.export_progress.setMaximumWidth(140)
        self.export_progress.setVisible(False)
        self.image = StepImage()
        self.sigma_plot = StepPlot("Noise level σ", log_scale=True)
        self.change_plot = StepPlot("Change per step")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setPageStep(5)
        self.slider.setToolTip("Scrub through the steps (arrow keys step, Page Up/Down jump)")
        self.step_label = QLabel("")
        self.step_label.setMinimumWidth(150)
        self.filmstrip = Filmstrip()
        self._lay_out()
        self._connect()

    def _lay_out(self) -> None:
        bar = QHBoxLayout()
        for widget in (self.run_combo, self.view_combo, self.play_button, self.speed_spin):
            bar.addWidget(widget)
        bar.addStretch(1)
        actions = QHBoxLayout()  # a second row keeps the dock narrow enough for small screens
        actions.setContentsMargins(0, 0, 0, 0)
        buttons = (self.continue_button, self.decoder_combo, self.decode_button)
        buttons += (self.promote_button,)
        for widget in (*buttons, self.export_button):
            actions.addWidget(widget)
        actions.addWidget(self.export_progress)
        actions.addStretch(1)
        plots = QVBoxLayout()
        plots.addWidget(self.sigma_plot)
        plots.addWidget(self.change_plot)
        middle = QGridLayout()
        middle.addWidget(self.image, 0, 0)
        middle.addLayout(plots, 0, 1)
        middle.setColumnStretch(0, 1)
        middle.setColumnStretch(1, 2)
        # the compact strip (before any run) keeps only the scrubber and the filmstrip
        self.details = QWidget()
        top = QVBoxLayout(self.details)
        top.setContentsMargins(0, 0, 0, 0)
        top.addLayout(bar)
        top.addLayout(middle, 1)
        self.actions_row = QWidget()
        self.actions_row.setLayout(actions)
        scrub = QHBoxLayout()
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.step_label)
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 4)
        column.addWidget(self.details, 1)
        column.addLayout(scrub)
        column.addWidget(self.actions_row)
        column.addWidget(self.filmstrip)

    def set_compact(self, compact: bool) -> None:
        """A strip (scrubber, and the filmstrip once there are steps) or the whole panel."""
        self.compact = compact
        self.details.setVisible(not compact)
        self.actions_row.setVisible(not compact)
        self.filmstrip.setVisible(not compact or self.filmstrip.count() > 0)
        if compact and not self.history.runs:
            self.step_label.setText("No run recorded yet")
        self.compact_changed.emit(compact)

    def resizeEvent(self, event) -> None:
        """The artist dragging the strip taller (a mouse drag, not the layout) opens the panel."""
        super().resizeEvent(event)
        dragging = bool(QApplication.mouseButtons() & Qt.MouseButton.LeftButton)
        taller = event.size().height() > self.sizeHint().height() + COMPACT_SLACK
        if self.compact and dragging and taller:
            self.set_compact(False)

    def _connect(self) -> None:
        self.run_combo.currentIndexChanged.connect(lambda _i: self._show_run())
        self.view_combo.currentIndexChanged.connect(lambda _i: self.set_step(self.index))
        self.slider.valueChanged.connect(self.set_step)
        self.filmstrip.currentRowChanged.connect(lambda row: row >= 0 and self.set_step(row))
        self.sigma_plot.step_clicked.connect(self.set_step)
        self.change_plot.step_clicked.connect(self.set_step)
        self.play_button.toggled.connect(self.set_playing)
        self.speed_spin.valueChanged.connect(lambda _v: self._retime())
        self.decode_button.clicked.connect(self.decode_current)
        self.continue_button.clicked.connect(self.continue_current)
        self.promote_button.clicked.connect(self.promote_current)
        self.export_button.clicked.connect(lambda: self.export_to(None))

    # ---- state ----------------------------------------------------------------------------
    def current_run(self) -> RecordedRun | None:
        return self.history.run(self.run_combo.currentData() or -1)

    def view(self) -> str:
        return self.view_combo.currentData()

    def following(self) -> bool:
        """True when the artist is at the newest step: a growing run then moves along."""
        return self.index >= self.slider.maximum()

    def _on_runs_changed(self) -> None:
        """Rebuild the run list; a new run is shown, else the shown run stays where it is."""
        shown = self.run_combo.currentData()
        known = {self.run_combo.itemData(i) for i in range(self.run_combo.count())}
        ids = [run.job_id for run in self.history.runs]
        keep = shown in ids and set(ids) <= known
        self.run_combo.blockSignals(True)
        self.run_combo.clear()
        for run in self.history.runs:
            self.run_combo.addItem(_title(run), run.job_id)
        self.run_combo.setCurrentIndex(ids.index(shown) if keep else len(ids) - 1)
        self.run_combo.blockSignals(False)
        if keep:
            self._fill_decoders(self.current_run())
            self._refresh(self.following())
        else:
            self._show_run()

    def _on_run_updated(self, job_id: int) -> None:
        """A running run recorded more steps: refresh it if shown, without moving a scrubber."""
        run = self.current_run()
        if run is not None and run.job_id == job_id:
            self._refresh(self.following())

    def _show_run(self) -> None:
        """Show the chosen run from its newest step."""
        self.continue_button.setEnabled(True)
        self._fill_decoders(self.current_run())
        self.filmstrip.clear()
        self._refresh(follow=True)

    def _refresh(self, follow: bool) -> None:
        """Bring buttons, plots, filmstrip and slider up to the shown run's record."""
        run = self.current_run()
        frames = run.record.frames if run is not None else ()
        for widget in (self.promote_button, self.export_button):
            widget.setEnabled(bool(frames))
        self._enable_decode(run, bool(frames))
        self.play_button.setEnabled(bool(frames))
        self.continue_button.setVisible(run is not None and self.history.can_continue(run.job_id))
        planned = run.record.total - frames[0].step + 1 if run is not None and run.live else 0
        self.sigma_plot.set_values([f.sigma for f in frames], planned)
        self.change_plot.set_values([f.change for f in frames], planned)
        self.filmstrip.set_thumbnails([f.thumb_x0 for f in frames])
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(frames) - 1))
        self.slider.blockSignals(False)
        self.set_step(len(frames) - 1 if follow and frames else self.index)

    def _enable_decode(self, run: RecordedRun | None, any_frames: bool) -> None:
        """Decoding needs a latent model; a pixel-space run says why it has nothing to decode."""
        pixels = run is not None and not run.record.decodable
        self.decode_button.setEnabled(any_frames and not pixels)
        self.decoder_combo.setEnabled(not pixels)
        self.decode_button.setToolTip(PIXELS_TIP if pixels else DECODE_TIP)
        self.decoder_combo.setToolTip(PIXELS_TIP if pixels else DECODER_TIP)

    def _fill_decoders(self, run: RecordedRun | None) -> None:
        """The decoders this run can use; the chosen one stays chosen when still offered."""
        chosen = self.decoder_combo.currentData()
        self.decoder_combo.clear()
        self.decoder_combo.addItem("Full VAE", "")
        tiny = getattr(run.request, "preview_decoder", None) if run is not None else None
        if tiny and tiny != "vae":
            self.decoder_combo.addItem(f"Tiny decoder ({Path(tiny).name})", tiny)
        self.decoder_combo.setCurrentIndex(max(0, self.decoder_combo.findData(chosen)))

    def set_step(self, index: int) -> None:
        """Show step `index` (0-based) everywhere: image, slider, plots, filmstrip, label."""
        run = self.current_run()
        if run is None:
            self.image.show_image(None, "No run recorded yet: generate something.")
            self.step_label.setText("")
            return
        index = max(0, min(int(index), len(run.record.frames) - 1))
        self.index = index
        for widget, setter in ((self.slider, "setValue"), (self.filmstrip, "setCurrentRow")):
            widget.blockSignals(True)
            getattr(widget, setter)(index)
            widget.blockSignals(False)
        self.sigma_plot.set_current(index)
        self.change_plot.set_current(index)
        self.image.show_image(self.history.picture(run.job_id, index, self.view()))
        self.step_label.setText(self._describe(run, index))

    def _describe(self, run: RecordedRun, index: int) -> str:
        frame = run.record.frames[index]
        text = f"step {frame.step}/{run.record.total} · t={frame.timestep:.0f} · "
        text += f"σ={frame.sigma:.3g} · {frame.seconds:.2f} s"
        if run.live:
            text += " · running"
        if index in run.decoded and self.view() == "x0":
            text += " · decoded"
        elif not frame.has_full:
            text += " · thumbnail only"
        return text

    # ---- playback -------------------------------------------------------------------------
    def set_playing(self, playing: bool) -> None:
        self.play_button.setChecked(playing)
        self.play_button.setText("Pause" if playing else "Play")
        if playing:
            self._retime()
            self._timer.start()
        else:
            self._timer.stop()

    def _retime(self) -> None:
        self._timer.setInterval(max(1, round(1000 / self.speed_spin.value())))

    def advance(self) -> None:
        """The next step, wrapping to the first after the last."""
        run = self.current_run()
        if run is not None:
            self.set_step((self.index + 1) % len(run.record.frames))

    # ---- actions --------------------------------------------------------------------------
    def decode_current(self) -> int | None:
        run = self.current_run()
        if run is None:
            return None
        decoder = self.decoder_combo.currentData() or None
        job = self.history.decode(run.job_id, self.index, decoder)
        if job is not None:
            self.notice.emit(f"Decoding step {run.record.frames[self.index].step}…")
        return job

    def continue_current(self) -> int | None:
        run = self.current_run()
        if run is None:
            return None
        job = self.history.continue_run(run.job_id)
        if job is not None:
            self.continue_button.setEnabled(False)
            self.notice.emit(f"Continuing from step {run.resume.steps_done}…")
        return job

    def _on_decoded(self, job_id: int, index: int) -> None:
        run = self.current_run()
        if run is not None and run.job_id == job_id:
            if index == self.index:
                self.view_combo.setCurrentIndex(self.view_combo.findData("x0"))
                self.set_step(index)
            self.notice.emit(f"Step {run.record.frames[index].step} decoded")

    def promote_current(self) -> int | None:
        run = self.current_run()
        return None if run is None else self.history.promote(run.job_id, self.index, self.view())

    def export_to(self, path: str | None) -> bool:
        """Export the shown run in the shown view (asks for a file when `path` is None)."""
        run = self.current_run()
        if run is None:
            return False
        if path is None:
            path = self._ask_export_path()
            if not path:
                return False
        started = self.exporter.start(run.record, path, self.view(), self.speed_spin.value())
        if started:
            self.export_progress.setRange(0, len(run.record.frames))
            self.export_progress.setValue(0)
            self.export_progress.setVisible(True)
            self.export_button.setEnabled(False)
        return started

    def _ask_export_path(self) -> str:
        filters = EXPORT_FILTERS + ";;PNG sequence (a folder name without extension) (*)"
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the run", str(Path.home() / "run.gif"), filters
        )
        return path

    def _on_export_progress(self, done: int, total: int) -> None:
        self.export_progress.setRange(0, total)
        self.export_progress.setValue(done)

    def _on_export_finished(self, path: str) -> None:
        self._export_done(f"Run exported to {path}")

    def _on_export_failed(self, message: str, details: str) -> None:
        self._export_done("")
        self.error_raised.emit(message, details)

    def _export_done(self, text: str) -> None:
        self.export_progress.setVisible(False)
        self.export_button.setEnabled(self.current_run() is not None)
        if text:
            self.notice.emit(text)


def _title(run: RecordedRun) -> str:
    mark = " (running)" if run.live else " (draft)" if run.draft else ""
    return f"#{run.job_id} {run.label}{mark}"


def install_timeline(window) -> QDockWidget:
    """Build the Timeline dock at the bottom of `window` and wire it (a few lines there)."""
    window.timeline_panel = TimelinePanel(window.run_history, window.run_exporter)
    dock = QDockWidget("Timeline", window)
    dock.setObjectName("TimelineDock")
    dock.setWidget(window.timeline_panel)
    # Under the canvas only: the right-hand docks keep the full height of the window.
    window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    window.timeline_panel.error_raised.connect(window.banner.show_error)
    window.timeline_panel.notice.connect(lambda text: window.statusBar().showMessage(text, 6000))
    apply_timeline_preferences(window)
    return dock


def apply_timeline_preferences(window) -> None:
    """Preferences the recorder follows: the memory cap for new runs and the kept ones."""
    cap = record_cap_bytes(window.settings_store)
    window.session.record_cap_bytes = cap  # each run records within the cap…
    window.run_history.cap_bytes = cap  # …and all kept runs together stay within it
    window.run_history.enforce_cap()
