"""The Explore dock: compare samplers and step counts, walk between seeds/prompts, variations."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.errors import StudioError
from studio.session.explore import (
    compare_requests,
    short_label,
    variation_requests,
    walk_requests,
)
from studio.session.explore_jobs import Cell, ExploreBatch
from studio.session.settings import SAMPLER_CHOICES
from studio.ui.canvas.qimage import qimage_from_array

CELL_ICON = 112


def parse_steps(text: str) -> list[int]:
    """'20, 30 40' -> [20, 30, 40]; names the bad part otherwise."""
    out = []
    for part in text.replace(",", " ").split():
        if not part.isdigit() or not 1 <= int(part) <= 500:
            raise StudioError(f"Step counts must be whole numbers from 1 to 500, got {part!r}.")
        out.append(int(part))
    return out


class ExplorePanel(QWidget):
    """Builds the batch from the Generate settings; shows it as a labelled grid."""

    error_raised = Signal(str, str)
    notice = Signal(str)

    def __init__(self, batch: ExploreBatch, base_request, parent=None) -> None:
        super().__init__(parent)
        self.batch = batch
        self.base_request = base_request  # () -> GenerationRequest from the Generate dock
        self.buttons: list[QToolButton] = []
        self._frame = 0
        self._build()
        batch.batch_started.connect(self._on_started)
        batch.cell_changed.connect(self._on_cell)
        batch.batch_done.connect(self._on_done)
        batch.error_raised.connect(self.error_raised)
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._animate)

    def _build(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.addTab(self._compare_tab(), "Samplers")
        self.tabs.addTab(self._walk_tab(), "Seed walk")
        self.tabs.addTab(self._variations_tab(), "Variations")
        self.run_button = QPushButton("Run batch")
        self.run_button.setToolTip("Queue every picture with the Generate settings (one batch)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.animate_button = QPushButton("Animate")
        self.animate_button.setCheckable(True)
        self.animate_button.setToolTip("Cycle through the pictures in the first cell (walks)")
        self.save_button = QPushButton("Save animation…")
        self.save_button.setToolTip("Save the finished pictures as GIF, WebP, MP4 or PNGs")
        buttons = QGridLayout()
        buttons.addWidget(self.run_button, 0, 0)
        buttons.addWidget(self.stop_button, 0, 1)
        buttons.addWidget(self.animate_button, 1, 0)
        buttons.addWidget(self.save_button, 1, 1)
        controls = QVBoxLayout()
        controls.addWidget(self.tabs, 1)
        controls.addLayout(buttons)
        side = QWidget()
        side.setLayout(controls)
        side.setMaximumWidth(360)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 4)
        row.addWidget(side)
        row.addWidget(scroll, 1)
        self.run_button.clicked.connect(self.run_batch)
        self.stop_button.clicked.connect(self.batch.stop)
        self.animate_button.toggled.connect(self._toggle_animation)
        self.save_button.clicked.connect(lambda: self.save_animation(None))

    def _compare_tab(self) -> QWidget:
        tab = QWidget()
        self.sampler_list = QListWidget()
        self.sampler_list.setToolTip("Tick the samplers to compare (rows of the grid)")
        for name in SAMPLER_CHOICES:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = name in ("Euler", "Euler a", "DPM++ 2M")
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.sampler_list.addItem(item)
        self.steps_edit = QLineEdit("")
        self.steps_edit.setPlaceholderText("e.g. 10, 20, 30 (empty: the Generate steps)")
        self.steps_edit.setToolTip("Step counts to compare (columns of the grid)")
        form = QFormLayout(tab)
        form.addRow("Samplers", self.sampler_list)
        form.addRow("Steps", self.steps_edit)
        return tab

    def _walk_tab(self) -> QWidget:
        tab = QWidget()
        self.seed_b_edit = QLineEdit("")
        self.seed_b_edit.setPlaceholderText("second seed (empty: same seed)")
        self.prompt_b_edit = QLineEdit("")
        self.prompt_b_edit.setPlaceholderText("second prompt (empty: same prompt)")
        self.frames_spin = QSpinBox()
        self.frames_spin.setRange(2, 64)
        self.frames_spin.setValue(8)
        self.frames_spin.setToolTip(
            "Pictures from the Generate seed/prompt to the second ones; the ends are exactly "
            "those two images. Ancestral samplers (… a, SDE, DDPM) jump at the last frame."
        )
        form = QFormLayout(tab)
        form.addRow("To seed", self.seed_b_edit)
        form.addRow("To prompt", self.prompt_b_edit)
        form.addRow("Frames", self.frames_spin)
        return tab

    def _variations_tab(self) -> QWidget:
        tab = QWidget()
        self.count_spin = QSpinBox()
        self.count_spin.setRange(1, 64)
        self.count_spin.setValue(8)
        self.strength_spin = QDoubleSpinBox()
        self.strength_spin.setRange(0.01, 1.0)
        self.strength_spin.setSingleStep(0.05)
        self.strength_spin.setValue(0.15)
        self.strength_spin.setToolTip("How much other noise is mixed in (small: close variations)")
        form = QFormLayout(tab)
        form.addRow("Variations", self.count_spin)
        form.addRow("Strength", self.strength_spin)
        return tab

    # ---- batches --------------------------------------------------------------------------
    def _requests(self, base) -> tuple[str, list, int]:
        tab = self.tabs.currentIndex()
        if tab == 0:
            names = [
                self.sampler_list.item(i).text()
                for i in range(self.sampler_list.count())
                if self.sampler_list.item(i).checkState() == Qt.CheckState.Checked
            ]
            steps = parse_steps(self.steps_edit.text())
            requests = compare_requests(base, names, steps)
            return "Compare", requests, max(1, len(steps))
        if tab == 1:
            text = self.seed_b_edit.text().strip()
            if text and not text.isdigit():
                raise StudioError(f"The second seed must be a whole number, got {text!r}.")
            seed_b = int(text) if text else None
            frames = self.frames_spin.value()
            requests = walk_requests(base, seed_b, self.prompt_b_edit.text().strip(), frames)
            return "Walk", requests, frames
        count = self.count_spin.value()
        requests = variation_requests(base, count, self.strength_spin.value(), base.seed + 1)
        return "Variations", requests, min(4, count)

    def run_batch(self) -> bool:
        """Queue the chosen batch; errors go to the banner."""
        try:
            kind, requests, columns = self._requests(self.base_request())
        except (StudioError, ValueError) as exc:
            message = exc.message if isinstance(exc, StudioError) else str(exc)
            self.error_raised.emit(message, getattr(exc, "details", ""))
            return False
        cells = [Cell(short_label(r, kind), r) for r in requests]
        self.batch.start(kind, cells, columns)
        return True

    def _on_started(self, kind: str, rows: int, columns: int) -> None:
        for button in self.buttons:
            button.deleteLater()
        self.buttons = []
        for index, cell in enumerate(self.batch.cells):
            button = QToolButton()
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setIconSize(QSize(CELL_ICON, CELL_ICON))
            button.setText(f"{cell.label}\nqueued")
            button.setToolTip("Click to open this picture as a new layer")
            button.setEnabled(False)
            button.clicked.connect(lambda _c=False, i=index: self.batch.open_cell(i))
            self.grid.addWidget(button, index // columns, index % columns)
            self.buttons.append(button)
        self.stop_button.setEnabled(True)
        self.notice.emit(f"{kind}: {len(self.buttons)} pictures queued")

    def _on_cell(self, index: int) -> None:
        cell, button = self.batch.cells[index], self.buttons[index]
        status = {"done": f"{cell.seconds:.1f} s", "running": "running…"}.get(cell.state)
        button.setText(f"{cell.label}\n{status or cell.state}")
        if cell.image is not None:
            button.setIcon(QIcon(QPixmap.fromImage(qimage_from_array(cell.image))))
            button.setEnabled(True)

    def _on_done(self) -> None:
        self.stop_button.setEnabled(False)
        self.notice.emit(f"{self.batch.kind} batch finished")

    def _toggle_animation(self, on: bool) -> None:
        if on:
            self._timer.start()
        else:
            self._timer.stop()
            for index in range(len(self.buttons)):
                self._on_cell(index)

    def _animate(self) -> None:
        images = self.batch.images()
        if images and self.buttons:
            self._frame = (self._frame + 1) % len(images)
            pixmap = QPixmap.fromImage(qimage_from_array(images[self._frame]))
            self.buttons[0].setIcon(QIcon(pixmap))

    def save_animation(self, path: str | None) -> bool:
        """Write the finished pictures in order (a walk as an animation)."""
        from studio.io.run_export import ExportError, export_frames

        images = self.batch.images()
        if not images:
            self.error_raised.emit("No finished pictures to save yet.", "")
            return False
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self,
                "Save the pictures",
                str(Path.home() / "walk.gif"),
                "Animated GIF (*.gif);;Animated WebP (*.webp);;MP4 video (*.mp4);;PNGs (*)",
            )
            if not path:
                return False
        try:
            export_frames(images, Path(path), 4.0)
        except ExportError as exc:
            self.error_raised.emit(exc.message, exc.details)
            return False
        self.notice.emit(f"Saved {len(images)} pictures to {path}")
        return True


def install_explore(window, below: QDockWidget) -> QDockWidget:
    """Build the Explore dock, tabbed after `below` (a dock of the right column)."""
    session = window.session

    def base_request():
        window.prompt_panel.store(session.settings)
        return session.build_request()[0]

    window.explore_panel = ExplorePanel(window.explore_batch, base_request)
    dock = QDockWidget("Explore", window)
    dock.setObjectName("ExploreDock")
    # scrolls rather than holding the tabbed Timeline strip open at its own minimum height
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(window.explore_panel)
    dock.setWidget(scroll)
    window.addDockWidget(window.dockWidgetArea(below), dock)
    window.tabifyDockWidget(below, dock)
    window.explore_panel.error_raised.connect(window.banner.show_error)
    window.explore_panel.notice.connect(lambda text: window.statusBar().showMessage(text, 6000))
    return dock
