"""The Generate dock: mode tabs (Prompt | Paint | Inpaint | Translate), shared prompt, queue."""

from __future__ import annotations

import secrets

from PySide6.QtCore import QEvent, QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from studio.engine.families import Family, family_of_model
from studio.engine.models.registry import ModelInfo
from studio.session.jobs import QueuedJob
from studio.session.settings import SAMPLER_CHOICES, PromptSettings
from studio.ui.generate.mode_panels import InpaintOptions, PaintOptions, PromptOptions, row
from studio.ui.generate.more_options import MoreOptions
from studio.ui.generate.sample_panel import SampleOptions
from studio.ui.generate.translate_panel import TranslatePanel
from studio.worker.jobs import JobState

SD_CFG = 7.0  # PromptSettings.guidance_scale default


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


class PanelScrollArea(QScrollArea):
    """Scrolls the Generate dock; keeps wrapped hint texts whole at every dock width.

    QScrollArea sizes its widget by sizeHint, which ignores height-for-width, so wrapped
    labels would be squeezed into too few lines when the dock is narrow.
    """

    def __init__(self, panel: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidget(panel)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        panel.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._fit()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        panel = self.widget()
        if panel is not None and panel.hasHeightForWidth():
            panel.setMinimumHeight(panel.heightForWidth(self.viewport().width()))


MODE_TABS = (  # settings.mode, tab text, Generate button text, tooltip
    ("prompt", "Prompt", "Generate", "Text to image, or image to image from the canvas"),
    ("paint", "Paint", "Generate from labels", "A picture from the painted label layer"),
    ("inpaint", "Inpaint", "Inpaint", "Repaint what is under the mask, seam-free"),
    ("translate", "Translate", "Translate", "pix2pix / CycleGAN on the active layer"),
    ("sample", "Sample", "Sample", "A picture from a seed (StyleGAN models)"),
)


SIZE_TIPS = {
    "prompt": "Size of the generated image",
    "paint": "About this many pixels are generated, in the canvas's aspect; the result is "
    "fitted to the canvas so it lines up with the labels",
    "inpaint": "The masked area (with its padding) is rendered at this size and pasted back; "
    "the model's native size (512 for SD 1.x, 1024 for SDXL) works best",
}


class PromptPanel(QWidget):
    """Edits PromptSettings; Generate/Cancel/Open are forwarded as signals to the window."""

    generate_requested = Signal()
    cancel_requested = Signal()
    open_model_requested = Signal()
    remove_job_requested = Signal(int)
    settings_image_dropped = Signal(str)  # a PNG dropped on the panel: load its settings
    mode_changed = Signal(str)  # "prompt" | "paint" | "inpaint" | "translate"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)  # drop a PNG here to load its generation settings
        self.mode_bar = QTabBar()
        self.mode_bar.setExpanding(True)
        self.mode_bar.setDocumentMode(True)
        for i, (_mode, text, _button, tip) in enumerate(MODE_TABS):
            self.mode_bar.addTab(text)
            self.mode_bar.setTabToolTip(i, tip)
        self.common = QWidget()  # what Prompt, Paint and Inpaint share (not Translate)
        form = QFormLayout(self.common)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.model_combo = QComboBox()
        self.model_combo.setToolTip("The Stable Diffusion model to generate with")
        self.model_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_combo.setMinimumContentsLength(12)
        open_button = QPushButton("Open…")
        open_button.setToolTip("Open a diffusers model folder (Models → Open model folder)")
        open_button.clicked.connect(self.open_model_requested)
        form.addRow("Model", row(self.model_combo, open_button))

        self.sampler_combo = QComboBox()
        self.sampler_combo.addItems(SAMPLER_CHOICES)
        self.sampler_combo.setToolTip("Sampler (scheduler) used for denoising")
        form.addRow("Sampler", self.sampler_combo)

        self.prompt_edit = PromptEdit()
        self.prompt_edit.setPlaceholderText("Describe the picture…")
        self.prompt_edit.setToolTip("Prompt (Ctrl+Enter generates)")
        self.prompt_edit.setTabChangesFocus(True)
        self.prompt_edit.setFixedHeight(72)
        form.addRow("Prompt", self.prompt_edit)
        self.ignored_label = QLabel()  # the prompt words the chosen model does not know
        self.ignored_label.setWordWrap(True)
        self.ignored_label.setVisible(False)
        self.ignored_label.setToolTip(
            "The starter model knows landscape words only: time of day, weather, season and "
            "materials (sky, water, mountain, tree…). Other words have no effect."
        )
        form.addRow("", self.ignored_label)
        self._families: dict[str, Family] = {}  # model path -> its family
        self.prompt_edit.textChanged.connect(self._update_ignored)
        self.model_combo.currentIndexChanged.connect(self._update_ignored)
        self.model_combo.currentIndexChanged.connect(self._family_changed)
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
        form.addRow("Steps", row(self.steps_spin, QLabel("CFG"), self.cfg_spin))

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
        form.addRow("Seed", row(self.seed_edit, dice, self.reuse_button, self.random_check))

        self.width_spin, self.height_spin = QSpinBox(), QSpinBox()
        for spin, name in ((self.width_spin, "Width"), (self.height_spin, "Height")):
            spin.setRange(64, 4096)
            spin.setSingleStep(64)
            spin.setSuffix(" px")
            spin.setToolTip(f"{name} of the generated image (multiples of 64 suit every model)")
        self.size_label = QLabel("Size")
        form.addRow(self.size_label, row(self.width_spin, QLabel("×"), self.height_spin))
        # the rows a sample (StyleGAN: model and seed only) hides
        steps, size = self.steps_spin.parentWidget(), self.width_spin.parentWidget()
        self._sample_hides = (self.sampler_combo, self.prompt_edit, self.negative_edit, steps, size)

        self.prompt_options = PromptOptions()
        self.img2img_check = self.prompt_options.img2img_check
        self.strength_spin = self.prompt_options.strength.spin
        self.paint_options = PaintOptions()
        self.live_panel = self.paint_options.live_panel
        self.inpaint_options = InpaintOptions()
        self.translate_panel = TranslatePanel()
        self.translate_panel.translate_button.hide()  # the dock's own button translates
        self.sample_options = SampleOptions()
        self.mode_pages = QStackedWidget()
        for page in (
            self.prompt_options,
            self.paint_options,
            self.inpaint_options,
            self.translate_panel,
            self.sample_options,
        ):
            self.mode_pages.addWidget(page)
        self.more_options = MoreOptions()
        self.mode_bar.currentChanged.connect(self._mode_changed)

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
        layout.addWidget(self.mode_bar)
        layout.addWidget(self.common)
        layout.addWidget(self.mode_pages)
        layout.addWidget(row(self.generate_button, self.cancel_button))
        layout.addWidget(self.more_options)
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
        self._select_model(s.model_path)
        self._family_changed()
        for part in (self.prompt_options, self.paint_options, self.inpaint_options):
            part.load(s)
        self.sample_options.load(s)
        self.more_options.load(s)
        self.set_mode(s.mode)

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
        s.model_path = self.model_combo.currentData() or ""
        for part in (self.prompt_options, self.paint_options, self.inpaint_options):
            part.store(s)
        self.sample_options.store(s)
        self.more_options.store(s)
        s.mode = self.mode()

    # ---- modes ----------------------------------------------------------------------------
    def mode(self) -> str:
        return MODE_TABS[self.mode_bar.currentIndex()][0]

    def set_mode(self, mode: str) -> None:
        index = next((i for i, tab in enumerate(MODE_TABS) if tab[0] == mode), 0)
        self.mode_bar.setCurrentIndex(index)
        self._mode_changed(index)

    def _mode_changed(self, index: int) -> None:
        mode, _text, button, tip = MODE_TABS[index]
        self.mode_pages.setCurrentIndex(index)
        for i in range(self.mode_pages.count()):  # the stack is as tall as the shown page
            policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
            self.mode_pages.widget(i).setSizePolicy(policy, policy)
        self.mode_pages.adjustSize()
        self.common.setVisible(mode != "translate")
        for field in self._sample_hides:
            self.common.layout().setRowVisible(field, mode != "sample")
        self.more_options.setVisible(mode not in ("translate", "sample"))
        self.generate_button.setText(button)
        self.size_label.setText("Size" if mode == "prompt" else "Work size")
        self.size_label.setToolTip(SIZE_TIPS.get(mode, ""))
        self.generate_button.setToolTip(f"{tip} (Ctrl+Enter); queues if a job is running")
        self.mode_changed.emit(mode)

    def set_extras(self, models: list[ModelInfo], extras: list[ModelInfo], s) -> None:
        """ControlNets, LoRAs, refiners and preview decoders found in the model folders."""
        controlnets = [m for m in extras if m.kind == "controlnet"]
        self.paint_options.set_controlnets(controlnets, s.controlnet_path)
        self.more_options.set_models(models, extras, s)

    def set_models(self, models: list[ModelInfo], selected: str) -> None:
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self._families = {m.path: f for m in models if m.usable and (f := family_of_model(m))}
        for info in models:
            if info.usable:
                self.model_combo.addItem(info.label, info.path)
                tip = "\n".join([info.path, *info.notes])
                self.model_combo.setItemData(
                    self.model_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole
                )
        if self.model_combo.count() == 0:
            self.model_combo.addItem("No model installed", "")
        self.model_combo.blockSignals(False)
        self._select_model(selected)
        self._update_ignored()
        self._family_changed()

    def _update_ignored(self, *args) -> None:
        """Under the prompt: the words the chosen model's family will not understand."""
        family = self.family()
        words = family.unknown_words(self.prompt_edit.toPlainText()) if family else ()
        title = family.title.lower() if family else ""
        self.ignored_label.setText(f"Not understood by the {title} model: " + ", ".join(words))
        self.ignored_label.setVisible(bool(words))

    def family(self) -> Family | None:
        """The family of the chosen model (None: no model)."""
        return self._families.get(self.model_combo.currentData() or "")

    def _family_changed(self, *args) -> None:
        """Show what the chosen model's family offers: its Generate modes (the other tabs are
        disabled), whether labels need a ControlNet, and its own CFG default (the starter is
        trained for ~3; 7, the SD default, burns its colours) in place of another family's
        default, keeping any value the artist typed."""
        family = self.family()
        self.paint_options.set_starter(family is not None and not family.controlnet_for_labels)
        for i, (mode, *_rest) in enumerate(MODE_TABS):
            offered = family is None or mode == "translate" or mode in family.modes
            self.mode_bar.setTabEnabled(i, offered)
        defaults = {f.defaults.get("guidance_scale", SD_CFG) for f in self._families.values()}
        wanted = family.defaults.get("guidance_scale", SD_CFG) if family else SD_CFG
        if self.cfg_spin.value() in defaults | {SD_CFG}:
            self.cfg_spin.setValue(wanted)

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
    def show_jobs(self, jobs: list[QueuedJob]) -> None:
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
