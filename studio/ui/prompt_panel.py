"""The Generate dock's Prompt mode: model, sampler, prompts, steps, CFG, seed, size, queue."""

from __future__ import annotations

import secrets

from PySide6.QtCore import QEvent, QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.engine.diffusion.samplers import sampler_names
from studio.engine.registry import ModelInfo
from studio.session.settings import PromptSettings
from studio.worker.jobs import Job, JobState


class PromptEdit(QPlainTextEdit):
    """A text box that lets Ctrl+Enter reach the Generate shortcut instead of adding a line."""

    def dragEnterEvent(self, event) -> None:
        if PromptPanel._dropped_png(event) is not None:
            event.ignore()  # the panel loads the PNG's settings instead of pasting its path
            return
        super().dragEnterEvent(event)

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            event.ignore()
            return False
        return super().event(event)


def _row(*widgets: QWidget) -> QWidget:
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for w in widgets:
        layout.addWidget(w)
    return box


class PromptPanel(QWidget):
    """Edits PromptSettings; Generate/Cancel/Open are forwarded as signals to the window."""

    generate_requested = Signal()
    cancel_requested = Signal()
    open_model_requested = Signal()
    remove_job_requested = Signal(int)
    settings_image_dropped = Signal(str)  # a PNG dropped on the panel: load its settings

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)  # drop a PNG here to load its generation settings
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The Stable Diffusion model to generate with")
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_combo.setMinimumContentsLength(12)
        open_button = QPushButton("Open…")
        open_button.setToolTip("Open a diffusers model folder (File → Open model folder)")
        open_button.clicked.connect(self.open_model_requested)
        form.addRow("Model", _row(self.model_combo, open_button))

        self.sampler_combo = QComboBox()
        self.sampler_combo.addItems(sampler_names())
        self.sampler_combo.setToolTip("Sampler (scheduler) used for denoising")
        form.addRow("Sampler", self.sampler_combo)

        self.prompt_edit = PromptEdit()
        self.prompt_edit.setPlaceholderText("Describe the picture…")
        self.prompt_edit.setToolTip("Prompt (Ctrl+Enter generates)")
        self.prompt_edit.setTabChangesFocus(True)
        self.prompt_edit.setFixedHeight(72)
        form.addRow("Prompt", self.prompt_edit)
        self.negative_edit = PromptEdit()
        self.negative_edit.setPlaceholderText("What to avoid…")
        self.negative_edit.setToolTip("Negative prompt")
        self.negative_edit.setTabChangesFocus(True)
        self.negative_edit.setFixedHeight(48)
        form.addRow("Negative", self.negative_edit)

        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 500)
        self.steps_spin.setToolTip("Number of denoising steps")
        self.cfg_spin = QDoubleSpinBox()
        self.cfg_spin.setRange(0.0, 50.0)
        self.cfg_spin.setSingleStep(0.5)
        self.cfg_spin.setToolTip("CFG scale: how strongly the prompt steers the image")
        form.addRow("Steps", _row(self.steps_spin, QLabel("CFG"), self.cfg_spin))

        self.seed_edit = QLineEdit()
        self.seed_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"\d{1,19}"), self.seed_edit)
        )
        self.seed_edit.setToolTip("Seed: the same seed and settings give the same image")
        self.random_check = QCheckBox("Random")
        self.random_check.setToolTip("Pick a new random seed for every generation")
        self.random_check.toggled.connect(lambda on: self.seed_edit.setEnabled(not on))
        dice = QPushButton("New")
        dice.setToolTip("Roll a new seed (and stop picking random ones)")
        dice.clicked.connect(self.roll_seed)
        self.reuse_button = QPushButton("Last")
        self.reuse_button.setToolTip("Reuse the seed of the last generation")
        self.reuse_button.setEnabled(False)
        self.reuse_button.clicked.connect(self._reuse_seed)
        self._last_seed: int | None = None
        form.addRow("Seed", _row(self.seed_edit, dice, self.reuse_button, self.random_check))

        self.width_spin, self.height_spin = QSpinBox(), QSpinBox()
        for spin, name in ((self.width_spin, "Width"), (self.height_spin, "Height")):
            spin.setRange(64, 4096)
            spin.setSingleStep(64)
            spin.setSuffix(" px")
            spin.setToolTip(f"{name} of the generated image (multiples of 64 suit every model)")
        form.addRow("Size", _row(self.width_spin, QLabel("×"), self.height_spin))

        self.img2img_check = QCheckBox("Start from the canvas (image to image)")
        self.img2img_check.setToolTip("Use the visible canvas as the starting image")
        form.addRow("", self.img2img_check)
        self.strength_slider = QSlider(Qt.Orientation.Horizontal)
        self.strength_slider.setRange(1, 100)
        self.strength_spin = QDoubleSpinBox()
        self.strength_spin.setRange(0.01, 1.0)
        self.strength_spin.setSingleStep(0.05)
        self.strength_spin.setToolTip("Strength: how much of the canvas is repainted (1 = all)")
        self.strength_slider.setToolTip(self.strength_spin.toolTip())
        self.strength_slider.valueChanged.connect(lambda v: self.strength_spin.setValue(v / 100))
        self.strength_spin.valueChanged.connect(
            lambda v: self.strength_slider.setValue(round(v * 100))
        )
        self.strength_row = _row(self.strength_slider, self.strength_spin)
        form.addRow("Strength", self.strength_row)
        self.img2img_check.toggled.connect(self.strength_row.setEnabled)

        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Generate (Ctrl+Enter); queues if a job is running")
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.generate_requested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job and keep its last preview (Esc)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_requested)

        self.queue_list = QListWidget()
        self.queue_list.setToolTip("Running and waiting jobs; select a waiting job to remove it")
        self.queue_list.setMaximumHeight(110)
        self.remove_button = QPushButton("Remove from queue")
        self.remove_button.setToolTip("Remove the selected waiting job")
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self._remove_selected)
        self.queue_list.currentItemChanged.connect(self._update_remove_button)
        self.queue_label = QLabel("Queue: empty")

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(_row(self.generate_button, self.cancel_button))
        layout.addWidget(self.queue_label)
        layout.addWidget(self.queue_list)
        layout.addWidget(self.remove_button)
        layout.addStretch(1)

    # ---- settings <-> widgets -------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if self._dropped_png(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = self._dropped_png(event)
        if path is not None:
            event.acceptProposedAction()
            self.settings_image_dropped.emit(path)

    @staticmethod
    def _dropped_png(event) -> str | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        paths = [u.toLocalFile() for u in urls if u.isLocalFile()]
        return next((p for p in paths if p.lower().endswith(".png")), None)

    def load(self, s: PromptSettings) -> None:
        self.prompt_edit.setPlainText(s.prompt)
        self.negative_edit.setPlainText(s.negative_prompt)
        self.steps_spin.setValue(s.steps)
        self.cfg_spin.setValue(s.guidance_scale)
        self.seed_edit.setText(str(s.seed))
        self.random_check.setChecked(s.random_seed)
        self.seed_edit.setEnabled(not s.random_seed)
        self.width_spin.setValue(s.width)
        self.height_spin.setValue(s.height)
        self.sampler_combo.setCurrentText(s.sampler)
        self.img2img_check.setChecked(s.img2img)
        self.strength_spin.setValue(s.strength)
        self.strength_slider.setValue(round(s.strength * 100))
        self.strength_row.setEnabled(s.img2img)
        self._select_model(s.model_path)

    def store(self, s: PromptSettings) -> None:
        s.prompt = self.prompt_edit.toPlainText().strip()
        s.negative_prompt = self.negative_edit.toPlainText().strip()
        s.steps = self.steps_spin.value()
        s.guidance_scale = self.cfg_spin.value()
        s.seed = int(self.seed_edit.text() or 0)
        s.random_seed = self.random_check.isChecked()
        s.width = self.width_spin.value()
        s.height = self.height_spin.value()
        s.sampler = self.sampler_combo.currentText()
        s.img2img = self.img2img_check.isChecked()
        s.strength = self.strength_spin.value()
        s.model_path = self.model_combo.currentData() or ""

    def set_models(self, models: list[ModelInfo], selected: str) -> None:
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for info in models:
            if info.usable:
                self.model_combo.addItem(info.label, info.path)
                self.model_combo.setItemData(
                    self.model_combo.count() - 1, info.path, Qt.ItemDataRole.ToolTipRole
                )
        if self.model_combo.count() == 0:
            self.model_combo.addItem("No model installed", "")
        self.model_combo.blockSignals(False)
        self._select_model(selected)

    def _select_model(self, path: str) -> None:
        index = self.model_combo.findData(path)
        if index >= 0:
            self.model_combo.setCurrentIndex(index)

    def roll_seed(self) -> None:
        self.random_check.setChecked(False)
        self.seed_edit.setText(str(secrets.randbelow(2**32)))

    def remember_seed(self, seed: int) -> None:
        self._last_seed = seed
        self.reuse_button.setEnabled(True)
        self.reuse_button.setToolTip(f"Reuse the seed of the last generation ({seed})")

    def _reuse_seed(self) -> None:
        if self._last_seed is not None:
            self.random_check.setChecked(False)
            self.seed_edit.setText(str(self._last_seed))

    # ---- queue ----------------------------------------------------------------------------
    def show_jobs(self, jobs: list[Job]) -> None:
        self.queue_list.clear()
        running = any(job.state is JobState.RUNNING for job in jobs)
        for job in jobs:
            state = "running" if job.state is JobState.RUNNING else "waiting"
            item = QListWidgetItem(f"#{job.id} {state} — {job.label}")
            item.setData(Qt.ItemDataRole.UserRole, job.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, job.state is JobState.QUEUED)
            self.queue_list.addItem(item)
        waiting = sum(job.state is JobState.QUEUED for job in jobs)
        self.queue_label.setText(
            f"Queue: {'1 running, ' if running else ''}{waiting} waiting"
            if jobs
            else "Queue: empty"
        )
        self.cancel_button.setEnabled(running)
        self._update_remove_button()

    def _update_remove_button(self, *args) -> None:
        item = self.queue_list.currentItem()
        self.remove_button.setEnabled(
            item is not None and bool(item.data(Qt.ItemDataRole.UserRole + 1))
        )

    def _remove_selected(self) -> None:
        item = self.queue_list.currentItem()
        if item is not None and item.data(Qt.ItemDataRole.UserRole + 1):
            self.remove_job_requested.emit(int(item.data(Qt.ItemDataRole.UserRole)))
