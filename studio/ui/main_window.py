"""The one window: canvas in the middle, Generate and Layers docks, menus, status bar."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

import studio
from studio.io.paths import bundled_models_dir, log_dir, user_models_dir
from studio.io.png import save_png
from studio.session.session import GenerationSession, Progress
from studio.ui.canvas import CanvasView
from studio.ui.error_banner import ErrorBanner
from studio.ui.layers_panel import LayersPanel
from studio.ui.preferences import PreferencesDialog, engine_choice
from studio.ui.prompt_panel import PromptPanel

log = logging.getLogger(__name__)


def _fmt_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


class MainWindow(QMainWindow):
    """Wires the session to the widgets; owns no generation logic itself."""

    def __init__(self, session: GenerationSession, settings: QSettings) -> None:
        super().__init__()
        self.session = session
        self.document = session.document
        self.settings_store = settings
        self.setWindowTitle("Studio")
        self.resize(1280, 820)

        self.canvas = CanvasView(self.document)
        self.banner = ErrorBanner()
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(4, 4, 4, 0)
        column.addWidget(self.banner)
        column.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self.prompt_panel = PromptPanel()
        self.generate_dock = self._dock("Generate", self.prompt_panel, "GenerateDock")
        self.layers_panel = LayersPanel(self.document)
        self.layers_dock = self._dock("Layers", self.layers_panel, "LayersDock")

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

    # ---- construction ---------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(
            file_menu,
            "Open model folder…",
            self.open_model_folder,
            "Ctrl+Shift+O",
            "Pick a Stable Diffusion diffusers folder to generate with",
        )
        self._action(file_menu, "Refresh model list", self.session.refresh_models, "F5")
        file_menu.addSeparator()
        self._action(
            file_menu,
            "Export canvas as PNG…",
            self.export_canvas,
            "Ctrl+Shift+E",
            "Save the visible canvas as PNG, with the generation recipe",
        )
        self._action(
            file_menu,
            "Export active layer as PNG…",
            self.export_layer,
            None,
            "Save the active layer as PNG, with its generation recipe",
        )
        file_menu.addSeparator()
        self._action(file_menu, "Open log folder", self.open_log_folder)
        self._action(file_menu, "Quit", self.close, QKeySequence.StandardKey.Quit)

        edit_menu = bar.addMenu("&Edit")
        self.undo_action = self.document.undo_stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcuts([QKeySequence("Ctrl+Z")])
        self.redo_action = self.document.undo_stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for action in (self.undo_action, self.redo_action):
            edit_menu.addAction(action)
            self.addAction(action)
        edit_menu.addSeparator()
        self._action(
            edit_menu,
            "Preferences…",
            self.open_preferences,
            QKeySequence.StandardKey.Preferences,
            "Device and precision",
        )

        gen_menu = bar.addMenu("&Generate")
        self.generate_action = self._action(
            gen_menu,
            "Generate",
            self.generate,
            ["Ctrl+Return", "Ctrl+Enter"],
            "Generate from the prompt (queues if a job is running)",
        )
        self.cancel_action = self._action(
            gen_menu,
            "Cancel",
            self.session.cancel,
            "Esc",
            "Stop the running job and keep the last preview",
        )

        view_menu = bar.addMenu("&View")
        self._action(view_menu, "Fit to window", self.canvas.fit, "Ctrl+0")
        self._action(view_menu, "Actual size (100%)", self.canvas.actual_size, "Ctrl+1")
        self._action(
            view_menu,
            "Zoom in",
            lambda: self.canvas.set_zoom(self.canvas.zoom * 1.25),
            QKeySequence.StandardKey.ZoomIn,
        )
        self._action(
            view_menu,
            "Zoom out",
            lambda: self.canvas.set_zoom(self.canvas.zoom / 1.25),
            QKeySequence.StandardKey.ZoomOut,
        )
        view_menu.addSeparator()
        view_menu.addAction(self.generate_dock.toggleViewAction())
        view_menu.addAction(self.layers_dock.toggleViewAction())

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "About Studio", self.about)

    def _connect(self) -> None:
        s, p = self.session, self.prompt_panel
        p.generate_requested.connect(self.generate)
        p.cancel_requested.connect(s.cancel)
        p.open_model_requested.connect(self.open_model_folder)
        p.remove_job_requested.connect(s.remove_job)
        s.models_changed.connect(self._on_models_changed)
        s.preview_changed.connect(self._on_preview)
        s.progress_changed.connect(self._on_progress)
        s.error_raised.connect(self.banner.show_error)
        s.result_added.connect(lambda _id: self._update_model_label())
        s.notice.connect(lambda text: self.statusBar().showMessage(text, 8000))
        p.model_combo.currentIndexChanged.connect(self._on_model_picked)
        s.worker.queue_changed.connect(lambda: p.show_jobs(s.worker.jobs()))
        self.canvas.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))

    # ---- actions --------------------------------------------------------------------------
    def generate(self) -> None:
        self.prompt_panel.store(self.session.settings)
        if self.session.generate() is not None and self.session.last_seed is not None:
            self.prompt_panel.remember_seed(self.session.last_seed)

    def _on_model_picked(self, _index: int) -> None:
        self.session.settings.model_path = self.prompt_panel.model_combo.currentData() or ""
        self._update_model_label()

    def open_preferences(self) -> None:
        dialog = PreferencesDialog(self.settings_store, self)
        if dialog.exec():
            self._apply_engine_choice()

    def _apply_engine_choice(self) -> None:
        s = self.session.settings
        s.device, s.dtype = engine_choice(self.settings_store)
        self._update_model_label()

    def open_model_folder(self) -> None:
        start = str(user_models_dir() if user_models_dir().exists() else Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a diffusers model folder", start)
        if folder:
            self.prompt_panel.store(self.session.settings)
            self.session.open_model_folder(folder)

    def _recipe_for_export(self, layer=None) -> dict | None:
        if layer is not None:
            return layer.metadata or None
        active = self.document.active_layer
        if active is not None and active.visible and active.metadata:
            return active.metadata
        for candidate in reversed(self.document.layers):
            if candidate.visible and candidate.metadata:
                return candidate.metadata
        return None

    def _ask_png_path(self, title: str) -> str:
        path, _ = QFileDialog.getSaveFileName(
            self, title, str(Path.home() / "studio.png"), "PNG image (*.png)"
        )
        if path and not path.lower().endswith(".png"):
            path += ".png"
        return path

    def export_canvas(self, path: str | None = None) -> None:
        path = path or self._ask_png_path("Export canvas as PNG")
        if path:
            self._save(path, self.document.composite(), self._recipe_for_export())

    def export_layer(self, path: str | None = None) -> None:
        layer = self.document.active_layer
        if layer is None:
            self.banner.show_error("There is no active layer to export.")
            return
        path = path or self._ask_png_path("Export layer as PNG")
        if path:
            self._save(path, layer.pixels, self._recipe_for_export(layer))

    def _save(self, path: str, pixels, recipe) -> None:
        try:
            save_png(Path(path), pixels, recipe)
        except (OSError, ValueError) as exc:
            log.warning("export to %s failed: %s", path, exc)
            self.banner.show_error(f"Could not save {Path(path).name}.", str(exc))
            return
        self.statusBar().showMessage(f"Saved {path}", 5000)

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
    def _on_models_changed(self) -> None:
        s = self.session
        self.prompt_panel.set_models(s.models, s.settings.model_path)
        if any(m.usable for m in s.models):
            self.canvas.set_placeholder("")
        else:
            places = [str(user_models_dir())]
            if bundled_models_dir() is not None:
                places.insert(0, str(bundled_models_dir()))
            self.canvas.set_placeholder(
                "No model installed yet.\n\nPut a Stable Diffusion 1.x or 2.x model folder "
                "(diffusers format) in\n"
                + "\n".join(places)
                + "\n\nor choose File → Open model folder… (Ctrl+Shift+O)."
            )
        self._update_model_label()

    def _update_model_label(self) -> None:
        path = self.session.settings.model_path
        info = next((m for m in self.session.models if m.path == path), None)
        s = self.session.settings
        device = None
        if s.device is None or s.dtype is None:  # automatic: show what the last job used
            for layer in reversed(self.document.layers):
                if layer.metadata.get("device"):
                    device = f"{layer.metadata['device']} · {layer.metadata.get('dtype')}"
                    break
        device = device or f"{s.device or 'device auto'} · {s.dtype or 'precision auto'}"
        self.model_label.setText(f"{info.label if info else 'No model'} · {device}")

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
        if progress.phase in ("loading", "starting"):
            self.step_label.setText(
                "Loading model…" if progress.phase == "loading" else "Starting…"
            )
            self.progress_bar.setRange(0, 0)  # busy indicator
            return
        text = f"step {progress.step}/{progress.total}"
        if progress.it_per_s > 0:
            text += f" · {progress.it_per_s:.2f} it/s"
        if progress.eta_s is not None:
            text += f" · ETA {_fmt_seconds(progress.eta_s)}"
        self.step_label.setText(text)
        self.progress_bar.setRange(0, max(1, progress.total))
        self.progress_bar.setValue(progress.step)

    # ---- persistence ----------------------------------------------------------------------
    def _restore(self) -> None:
        store = self.settings_store
        geometry = store.value("window/geometry")
        state = store.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        s = self.session.settings
        for key in ("prompt", "negative_prompt", "sampler"):
            setattr(s, key, str(store.value(f"prompt/{key}", getattr(s, key))))
        for key in ("steps", "width", "height"):
            setattr(s, key, int(store.value(f"prompt/{key}", getattr(s, key))))
        for key in ("guidance_scale", "strength"):
            setattr(s, key, float(store.value(f"prompt/{key}", getattr(s, key))))
        s.random_seed = str(store.value("prompt/random_seed", s.random_seed)).lower() == "true"
        s.seed = int(store.value("prompt/seed", s.seed))
        s.device, s.dtype = engine_choice(store)
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
        store.setValue("window/geometry", self.saveGeometry())
        store.setValue("window/state", self.saveState())
        s = self.session.settings
        self.prompt_panel.store(s)
        for key in (
            "prompt",
            "negative_prompt",
            "sampler",
            "steps",
            "width",
            "height",
            "guidance_scale",
            "strength",
            "seed",
        ):
            store.setValue(f"prompt/{key}", getattr(s, key))
        store.setValue("prompt/random_seed", "true" if s.random_seed else "false")
        store.setValue("prompt/model_path", s.model_path)
        store.setValue("models/opened", list(self.session.extra_model_paths))
        store.sync()

    def closeEvent(self, event) -> None:
        self.save_state()
        if not self.session.worker.shutdown(2.0):
            log.warning("generation thread did not stop within 2 s; leaving it behind")
        super().closeEvent(event)
