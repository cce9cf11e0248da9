"""The one window: canvas in the middle, Generate and Layers docks, menus, status bar."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

import studio
from studio.io.paths import log_dir
from studio.io.recovery import keep_for_next_start, release
from studio.session.controllers import Controllers
from studio.session.session import Progress
from studio.session.settings import MODES, restore_values, stored_values
from studio.ui.actions import ACTIONS, MENU_ORDER, SPECS, shortcuts_for
from studio.ui.autosave import Autosaver
from studio.ui.canvas.layers_panel import LayersPanel
from studio.ui.canvas.palette_panel import PalettePanel
from studio.ui.canvas.tool_bar import ToolBar
from studio.ui.canvas.tool_settings import ToolSettings
from studio.ui.canvas.tools import TOOL_CLASSES
from studio.ui.canvas.view import CanvasView
from studio.ui.document_actions import DocumentActions, settings_dict
from studio.ui.error_banner import ErrorBanner
from studio.ui.first_run_banner import FirstRunBanner
from studio.ui.generate.prompt_panel import PanelScrollArea, PromptPanel
from studio.ui.memory_banner import MemoryBanner
from studio.ui.memory_preferences import memory_settings
from studio.ui.models.actions import ModelActions
from studio.ui.outpaint_dialog import OutpaintDialog
from studio.ui.preferences import PreferencesDialog, autosave_seconds, engine_choice
from studio.ui.saving import SavingActions
from studio.ui.timeline.explore_panel import install_explore
from studio.ui.timeline.panel import apply_timeline_preferences, install_timeline
from studio.ui.window_layout import follow_runs, restore_or_arrange, save_layout, size_docks
from studio.units import format_clock

log = logging.getLogger(__name__)


class MainWindow(SavingActions, DocumentActions, ModelActions, QMainWindow):
    """Wires the session to the widgets; owns no generation logic itself."""

    def __init__(self, controllers: Controllers, settings: QSettings) -> None:
        super().__init__()
        self.controllers = controllers
        self.session = controllers.session
        self.jobs = controllers.jobs
        self.document = controllers.document
        self.live_draft = controllers.live_draft
        self.translator = controllers.translator
        self.converter = controllers.converter
        self.run_history = controllers.run_history
        self.run_exporter = controllers.run_exporter
        self.explore_batch = controllers.explore_batch
        self.settings_store = settings
        self.setWindowTitle("Studio")
        self.resize(1280, 820)
        self._first_layout = False  # first start: size the docks once the window is shown

        self.tool_settings = ToolSettings(self)
        self.tools = {cls.name: cls(self.document, self.tool_settings) for cls in TOOL_CLASSES}
        self.canvas = CanvasView(self.document)
        self.banner = ErrorBanner()
        self.memory_banner = MemoryBanner()  # a job that would not fit; how a job ran
        self.first_run_banner = FirstRunBanner(settings)  # shown once the models are scanned
        self.first_run_banner.manager_requested.connect(lambda: self.open_model_manager())
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(4, 4, 4, 0)
        column.addWidget(self.banner)
        column.addWidget(self.memory_banner)
        column.addWidget(self.first_run_banner)
        column.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self.prompt_panel = PromptPanel()
        scroll = PanelScrollArea(self.prompt_panel)
        # never narrower than its controls: other docks must not squeeze it into clipping
        scroll.setMinimumWidth(self.prompt_panel.minimumSizeHint().width() + 16)
        self.generate_dock = self._dock("Generate", scroll, "GenerateDock")
        self.layers_panel = LayersPanel(self.document)
        # one column on the right, full height: Generate above Layers | Palette | History; the
        # canvas keeps the width, the bottom (Timeline) dock sits under it
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.layers_dock = self._dock("Layers", self.layers_panel, "LayersDock")
        self.palette_panel = PalettePanel(self.document, self.tool_settings)
        self.palette_dock = self._dock("Palette", self.palette_panel, "PaletteDock")
        self.history_view = QUndoView(self.document.undo_stack)
        self.history_view.setEmptyLabel("Opened")
        self.history_dock = self._dock("History", self.history_view, "HistoryDock")
        self.tabifyDockWidget(self.layers_dock, self.palette_dock)
        self.tabifyDockWidget(self.palette_dock, self.history_dock)
        self.live_panel = self.prompt_panel.live_panel  # in the Generate dock's Paint tab
        self.live_panel.model_chosen.connect(self.live_draft.set_model)
        self.live_panel.toggled.connect(self.live_draft.set_enabled)
        self.live_panel.model_picked.connect(self._live_model_picked)
        self.live_panel.switched.connect(self._live_draft_switched)
        self.live_panel.refresh_requested.connect(self.refresh_live_models)
        self.live_draft.draft_shown.connect(self.live_panel.show_latency)
        self.live_draft.error_raised.connect(self._live_draft_failed)
        self.refresh_live_models()
        self.converter.converted.connect(self._on_converted)
        self.converter.error_raised.connect(self.banner.show_error)
        self.translate_panel = self.prompt_panel.translate_panel  # the Translate tab
        self.translate_panel.translate_requested.connect(self.translator.translate)
        self.translate_panel.refresh_requested.connect(self.refresh_translate_models)
        self.translator.error_raised.connect(self.banner.show_error)
        self.refresh_translate_models()
        self.palette_dock.raise_()
        self.timeline_dock = install_timeline(self)
        self.explore_dock = install_explore(self, self.history_dock)  # right column, last tab
        self.palette_dock.raise_()
        self.setAcceptDrops(True)

        self.model_label = QLabel()
        self.step_label = QLabel("Idle")
        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(220)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.zoom_label = QLabel("100%")
        status = self.statusBar()
        status.addWidget(self.model_label, 1)
        status.addPermanentWidget(self.step_label)
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.zoom_label)

        self._build_actions()
        self._connect()
        self._restore()
        self.autosaver = Autosaver(
            self.document,
            autosave_seconds(settings),
            self._generation_settings,
            self,
            saver=self.install_saver(),
        )
        self.session.result_added.connect(lambda _id: self.autosaver.save_now())

    def _generation_settings(self) -> dict:
        return settings_dict(self.session.settings)

    # ---- construction ---------------------------------------------------------------------
    def _dock(
        self,
        title: str,
        widget: QWidget,
        name: str,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _slots(self) -> dict:
        c, s = self.canvas, self.session
        slots = {
            "new": lambda: self.new_document(),
            "open": lambda: self.open_file(),
            "save": lambda: self.save(),
            "save_as": lambda: self.save_as(),
            "import_layer": lambda: self.import_layer(),
            "import_labels": lambda: self.import_labels(),
            "export_labels": lambda: self.export_labels(),
            "open_model": self.open_model_folder,
            "model_manager": lambda: self.open_model_manager(),
            "refresh_models": self.refresh_all_models,
            "model_settings": lambda: self.edit_model_settings(),
            "export_canvas": lambda: self.export_canvas(),
            "export_layer": lambda: self.export_layer(),
            "load_settings": lambda: self.load_settings_from_image(),
            "open_logs": self.open_log_folder,
            "quit": self.close,
            "clear": self.clear_selection_contents,
            "preferences": self.open_preferences,
            "select_all": self.select_all,
            "deselect": self.deselect,
            "selection_to_mask": self.selection_to_mask,
            "new_raster": self.layers_panel._new_raster,
            "new_label": lambda: self.document.add_label_layer(),
            "new_mask": lambda: self.document.add_mask_layer(),
            "duplicate_layer": self.layers_panel._duplicate,
            "delete_layer": self.layers_panel._delete_active,
            "labels_alone": lambda: self.document.set_labels_alone(not self.document.labels_alone),
            "size_down": lambda: self.tool_settings.grow(1 / 1.2),
            "size_up": lambda: self.tool_settings.grow(1.2),
            "swap_colors": self.tool_settings.swap,
            "generate": self.generate,
            "cancel": s.cancel,
            "rerun": lambda: s.rerun_exactly(self.document.active_layer),
            "fit": c.fit,
            "actual_size": c.actual_size,
            "zoom_in": lambda: c.set_zoom(c.zoom * 1.25),
            "zoom_out": lambda: c.set_zoom(c.zoom / 1.25),
            "about": self.about,
            "outpaint": lambda: self.extend_for_outpainting(),
        }
        for mode in MODES:
            slots[f"mode_{mode}"] = lambda _checked=False, m=mode: self.prompt_panel.set_mode(m)
        slots["focus_prompt"] = self.focus_prompt
        slots["find_class"] = self.find_class
        for op in ("invert", "grow", "shrink", "feather"):
            slots[f"mask_{op}"] = lambda _checked=False, op=op: self.mask_operation(op)
        for name in self.tools:
            slots[f"tool_{name}"] = lambda _checked=False, name=name: self.set_tool(name)
        return slots

    def _build_actions(self) -> None:
        """Every action comes from the one table in ui/actions.py (shortcuts configurable)."""
        self.actions: dict[str, QAction] = {}
        menus: dict[str, object] = {name: self.menuBar().addMenu(f"&{name}") for name in MENU_ORDER}
        slots = self._slots()
        stack = self.document.undo_stack
        for spec in ACTIONS:
            menu = menus.get(spec.menu) or menus.setdefault(
                spec.menu, self.menuBar().addMenu(f"&{spec.menu}")
            )
            if spec.id == "undo":
                action = stack.createUndoAction(self, "Undo")
            elif spec.id == "redo":
                action = stack.createRedoAction(self, "Redo")
            else:
                action = QAction(spec.text, self)
                action.triggered.connect(slots[spec.id])
            action.setToolTip(spec.tip or spec.text)
            action.setStatusTip(spec.tip or spec.text)
            menu.addAction(action)
            self.addAction(action)
            self.actions[spec.id] = action
        self.apply_shortcuts()
        self.undo_action, self.redo_action = self.actions["undo"], self.actions["redo"]
        self.generate_action, self.cancel_action = self.actions["generate"], self.actions["cancel"]
        view = menus["View"]
        view.addSeparator()
        docks = (
            self.generate_dock,
            self.layers_dock,
            self.palette_dock,
            self.history_dock,
            self.timeline_dock,
            self.explore_dock,
        )
        for dock in docks:
            view.addAction(dock.toggleViewAction())
        tool_actions = [self.actions[f"tool_{name}"] for name in self.tools]
        self.tool_bar = ToolBar(self.tool_settings, tool_actions, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.tool_bar)
        self.set_tool("brush")

    def apply_shortcuts(self) -> None:
        """(Re)read shortcuts from QSettings, e.g. after Preferences."""
        for action_id, action in self.actions.items():
            action.setShortcuts(shortcuts_for(SPECS[action_id], self.settings_store))

    def set_tool(self, name: str) -> None:
        self.canvas.set_tool(self.tools[name])
        action = self.actions.get(f"tool_{name}")
        if action is not None:
            action.setChecked(True)

    def _connect(self) -> None:
        s, p = self.session, self.prompt_panel
        p.generate_requested.connect(self.generate)
        p.cancel_requested.connect(s.cancel)
        p.open_model_requested.connect(self.open_model_folder)
        p.remove_job_requested.connect(s.remove_job)
        p.settings_image_dropped.connect(self.load_settings_from_image)
        p.mode_changed.connect(self._on_mode_changed)
        s.models_changed.connect(self._on_models_changed)
        s.preview_changed.connect(self._on_preview)
        s.progress_changed.connect(self._on_progress)
        s.error_raised.connect(self.banner.show_error)
        s.result_added.connect(lambda _id: self._update_model_label())
        s.notice.connect(lambda text: self.statusBar().showMessage(text, 8000))
        s.memory_refused.connect(self.memory_banner.show_verdict)
        s.job_noted.connect(self.memory_banner.show_note)
        self.memory_banner.option_chosen.connect(self._run_memory_option)
        self.memory_banner.dismissed.connect(s.drop_refused_job)
        p.model_combo.currentIndexChanged.connect(self._on_model_picked)
        self.jobs.jobs_changed.connect(lambda: p.show_jobs(self.jobs.jobs()))
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        self.canvas.files_dropped.connect(
            lambda paths: self.files_dropped_on_canvas(self.add_dropped_models(paths))
        )
        self.tool_settings.notice.connect(lambda text: self.statusBar().showMessage(text, 4000))

    # ---- actions --------------------------------------------------------------------------
    def generate(self) -> None:
        self.prompt_panel.store(self.session.settings)
        if self.session.settings.mode == "translate":
            self.translate_panel.request_translate()
            return
        self.memory_banner.hide()  # a new Generate replaces a job that did not fit
        if self.session.generate() is not None and self.session.last_seed is not None:
            self.prompt_panel.remember_seed(self.session.last_seed)

    def focus_prompt(self) -> None:
        """Alt+P: the cursor in the prompt box (its text selected, so typing replaces it)."""
        if self.prompt_panel.mode() == "translate":
            self.prompt_panel.set_mode("prompt")
        self.generate_dock.show()
        self.generate_dock.raise_()
        self.prompt_panel.prompt_edit.setFocus()
        self.prompt_panel.prompt_edit.selectAll()

    def find_class(self) -> None:
        """Ctrl+F: type a class name in the Palette dock; Enter paints with the first match."""
        self.palette_dock.show()
        self.palette_dock.raise_()
        self.palette_panel.search.setFocus()
        self.palette_panel.search.selectAll()

    def _run_memory_option(self, index: int | None) -> None:
        if self.session.run_memory_option(index) is not None and self.session.last_seed is not None:
            self.prompt_panel.remember_seed(self.session.last_seed)

    def load_settings_from_image(self, path: str | None = None) -> None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self,
                "Load generation settings from an image",
                str(Path.home()),
                "PNG image (*.png)",
            )
        if path:
            self.prompt_panel.store(self.session.settings)
            if self.session.load_settings_from_image(path):
                self.prompt_panel.load(self.session.settings)

    def extend_for_outpainting(self, sides: tuple[int, int, int, int] | None = None) -> None:
        """Grow the canvas, mask the new band and switch to Inpaint, ready to fill it."""
        if sides is None:
            dialog = OutpaintDialog(self.document.width, self.document.height, self)
            if not dialog.exec():
                return
            sides = dialog.sides()
        self.document.extend_for_outpainting(*sides)
        self.prompt_panel.set_mode("inpaint")
        self.canvas.fit()
        self.statusBar().showMessage(
            "Canvas extended and the new band masked: press Inpaint (Ctrl+Enter) to fill it", 8000
        )

    def _on_mode_changed(self, mode: str) -> None:
        """Show the dock the mode works with: the palette for labels, layers for masks."""
        self.session.settings.mode = mode
        if mode == "paint":
            self.palette_dock.raise_()
        elif mode == "inpaint":
            self.layers_dock.raise_()

    def _live_draft_failed(self, message: str, details: str) -> None:
        self.live_panel.enable_check.setChecked(False)
        self.banner.show_error(message, details)

    def open_preferences(self) -> None:
        dialog = PreferencesDialog(self.settings_store, self)
        if dialog.exec():
            self._apply_engine_choice()
            self.apply_shortcuts()
            self.preferences_changed()

    def preferences_changed(self) -> None:
        """Things that follow Preferences (autosave interval, memory preset)."""
        self.autosaver.set_interval(autosave_seconds(self.settings_store))
        apply_timeline_preferences(self)
        self.session.memory_settings = memory_settings(self.settings_store)

    def _apply_engine_choice(self) -> None:
        s = self.session.settings
        s.device, s.dtype = engine_choice(self.settings_store)
        self._update_model_label()

    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir())))

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About Studio",
            f"Studio {studio.__version__}\nMake and edit images with generative "
            "models, on your own machine.",
        )

    # ---- session events -------------------------------------------------------------------
    def _on_preview(self, payload) -> None:
        if payload is None:
            self.canvas.set_preview(None)
        else:
            image, size = payload
            self.canvas.set_preview(image, size)

    def _on_progress(self, progress: Progress | None) -> None:
        if progress is None:
            self.step_label.setText("Idle")
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            return
        if progress.phase in ("loading", "starting", "retrying"):
            self.step_label.setText(
                {
                    "loading": "Loading model…",
                    "retrying": "Out of memory: retrying with safer settings…",
                }.get(progress.phase, "Starting…")
            )
            self.progress_bar.setRange(0, 0)  # busy indicator
            return
        text = f"step {progress.step}/{progress.total}"
        if progress.it_per_s > 0:
            text += f" · {progress.it_per_s:.2f} it/s"
        if progress.eta_s is not None:
            text += f" · ETA {format_clock(progress.eta_s)}"
        self.step_label.setText(text)
        self.progress_bar.setRange(0, max(1, progress.total))
        self.progress_bar.setValue(progress.step)

    # ---- persistence ----------------------------------------------------------------------
    def _restore(self) -> None:
        store = self.settings_store
        self._first_layout = restore_or_arrange(self, store)
        follow_runs(self)
        s = self.session.settings
        restore_values(s, lambda key: store.value(f"prompt/{key}"))
        s.device, s.dtype = engine_choice(store)
        self.session.memory_settings = memory_settings(store)
        model = str(store.value("prompt/model_path", ""))
        opened = store.value("models/opened", []) or []
        self.session.extra_model_paths = [
            p for p in ([opened] if isinstance(opened, str) else list(opened)) if Path(p).is_dir()
        ]
        self.session.refresh_models()
        if any(m.path == model and m.usable for m in self.session.models):
            s.model_path = model
        self.prompt_panel.set_models(self.session.models, s.model_path)
        self.prompt_panel.load(s)
        self._update_model_label()

    def save_state(self) -> None:
        store = self.settings_store
        save_layout(self, store)
        s = self.session.settings
        self.prompt_panel.store(s)
        for key, value in stored_values(s).items():
            store.setValue(f"prompt/{key}", value)
        store.setValue("prompt/model_path", s.model_path)
        store.setValue("models/opened", list(self.session.extra_model_paths))
        store.sync()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._first_layout:
            self._first_layout = False
            size_docks(self)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """Files dropped on the window (outside the canvas) open as a new document; model
        files and folders go to the model manager."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            paths = self.add_dropped_models(paths)
        if paths:
            self.open_file(paths[0])

    def closeEvent(self, event) -> None:
        self.save_state()
        if self.model_manager is not None:
            self.model_manager.shutdown()
            self.model_manager.close()
        self.autosaver.stop()
        self.run_exporter.cancel()
        self.saver.wait()  # a save, export or autosave in flight ends whole (writes are atomic)
        if self.document.undo_stack.isClean():
            release()  # nothing unsaved: no recovery copy needed
        else:  # keep unsaved work; the next start offers it like after a crash
            self.autosaver.save_at_quit()
            keep_for_next_start()
        self.saver.shutdown()
        if not self.controllers.worker.shutdown(2.0):
            log.warning("generation thread did not stop within 2 s; leaving it behind")
        super().closeEvent(event)
