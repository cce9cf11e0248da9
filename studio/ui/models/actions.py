"""Main-window actions on models: the model lists, model settings, conversion, placeholders."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from studio.engine.models.settings import ModelSettings, model_settings, set_model_settings
from studio.errors import StudioError
from studio.io.paths import bundled_models_dir, user_models_dir
from studio.session.live_draft import preferred_spade, spade_models
from studio.session.settings import LIVE_DRAFT_ENABLED, LIVE_DRAFT_MODEL, stored_flag
from studio.session.translate import translate_models
from studio.ui.models.settings_dialog import ModelSettingsDialog


class ModelActions:
    """Mixed into MainWindow (which provides session, panels, canvas, banner, statusBar)."""

    model_manager = None  # the Models → Model manager… window, made on first use

    def open_model_manager(self):
        """Show the (non-modal) model manager window, bringing it forward if it is open."""
        from studio.ui.models.manager import ModelManager

        if self.model_manager is None:
            from studio.ui.models.download_panel import DownloadPanel

            c = self.controllers  # the downloader and the importer come from the root
            self.model_manager = ModelManager(
                self,
                downloads=DownloadPanel(c.downloads, user_models_dir()),
                extra_paths=lambda: list(self.session.extra_model_paths),
                importer=c.importer,
            )
            self.model_manager.models_changed.connect(self._on_models_managed)
            self.model_manager.forget_requested.connect(self._forget_model_folder)
            geometry = self.settings_store.value("models/manager_geometry")
            if geometry is not None:
                self.model_manager.restoreGeometry(geometry)
            self.model_manager.closed.connect(
                lambda: self.settings_store.setValue(
                    "models/manager_geometry", self.model_manager.saveGeometry()
                )
            )
        else:
            self.model_manager.rescan()
        self.model_manager.show()
        self.model_manager.raise_()
        self.model_manager.activateWindow()
        return self.model_manager

    def add_dropped_models(self, paths: list[str]) -> list[str]:
        """Weight files and folders dropped on the window go to the model manager (to be
        added); the other paths (images, projects) are returned for the caller."""
        from studio.engine.models.checkpoints import WEIGHT_SUFFIXES

        models = [p for p in paths if Path(p).is_dir() or Path(p).suffix.lower() in WEIGHT_SUFFIXES]
        if models:
            self.open_model_manager().add_paths(models)
        return [p for p in paths if p not in models]

    def _forget_model_folder(self, path: str) -> None:
        s = self.session
        s.extra_model_paths = [p for p in s.extra_model_paths if p != path]
        if s.settings.model_path == path:
            s.settings.model_path = ""

    def _on_models_managed(self) -> None:
        """Models were added or removed in the manager: forget gone ones, re-scan every list."""
        s = self.session
        s.extra_model_paths = [p for p in s.extra_model_paths if Path(p).exists()]
        if s.settings.model_path and not Path(s.settings.model_path).exists():
            s.settings.model_path = ""
        self.refresh_all_models()

    def edit_model_settings(self, chosen: ModelSettings | None = None) -> None:
        """Show the chosen model's notes and store the artist's override (then re-scan)."""
        path = self.session.settings.model_path
        info = next((m for m in self.session.models if m.path == path), None)
        if info is None:
            self.banner.show_error("Choose a model first: its settings are per model file.")
            return
        try:
            if chosen is None:
                dialog = ModelSettingsDialog(info, model_settings(path), self)
                if not dialog.exec():
                    return
                if dialog.convert_requested:
                    self.converter.convert(path)
                    self.statusBar().showMessage(f"Converting {info.name}…", 8000)
                    return
                chosen = dialog.chosen()
            set_model_settings(path, chosen)
        except StudioError as exc:
            self.banner.show_error(exc.message, exc.details)
            return
        self.session.refresh_models()
        self.statusBar().showMessage(f"Settings of {info.name} saved", 5000)

    def _on_converted(self, original: str, converted: str) -> None:
        """Use the .safetensors copy from now on; the original file stays untouched."""
        if self.session.settings.model_path == original:
            self.session.settings.model_path = converted
        self.session.refresh_models()
        self.statusBar().showMessage(
            f"Converted {Path(original).name} to {Path(converted).name}; the original is left "
            "as it was (remove it when you no longer need it)",
            10000,
        )

    def refresh_all_models(self) -> None:
        """Look in the model folders again for every kind of model (F5)."""
        self.refresh_live_models()
        self.refresh_translate_models()
        self.session.refresh_models()

    def refresh_translate_models(self) -> None:
        self.translate_panel.set_models(translate_models())

    def refresh_live_models(self) -> None:
        """List the SPADE models: the artist's pick, else a starter; the draft is on while a
        model exists unless the artist switched it off."""
        models = spade_models()
        store = self.settings_store
        chosen = str(store.value(LIVE_DRAFT_MODEL, "") or "")
        enabled = stored_flag(store, LIVE_DRAFT_ENABLED)
        self.live_panel.set_models(
            models, preferred_spade(models, chosen), True if enabled is None else enabled
        )

    def _live_model_picked(self, path: str) -> None:
        self.settings_store.setValue(LIVE_DRAFT_MODEL, path)

    def _live_draft_switched(self, on: bool) -> None:
        self.settings_store.setValue(LIVE_DRAFT_ENABLED, on)

    def _on_model_picked(self, _index: int) -> None:
        self.session.settings.model_path = self.prompt_panel.model_combo.currentData() or ""
        self._update_model_label()

    def open_model_folder(self) -> None:
        start = str(user_models_dir() if user_models_dir().exists() else Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a diffusers model folder", start)
        if folder:
            self.prompt_panel.store(self.session.settings)
            self.session.open_model_folder(folder)

    def _on_models_changed(self) -> None:
        s = self.session
        self.prompt_panel.set_models(s.models, s.settings.model_path)
        self.prompt_panel.set_extras(s.models, s.extras, s.settings)
        self._update_placeholder()
        self._update_model_label()
        self.first_run_banner.update_for([*s.models, *s.gan_models])

    def _update_placeholder(self) -> None:
        """The canvas card says what to install, unless some model can make pictures."""
        has_gan = self.live_panel.enable_check.isEnabled() or (
            self.translate_panel.model_combo.currentData() or ""
        )
        if any(m.usable for m in self.session.models) or has_gan:
            self.canvas.set_placeholder("")
            return
        places = [str(user_models_dir())]
        if bundled_models_dir() is not None:
            places.insert(0, str(bundled_models_dir()))
        self.canvas.set_placeholder(
            "No model installed yet.\n\nPut a Stable Diffusion model (diffusers folder or "
            ".safetensors file), a SPADE or a pix2pix/CycleGAN checkpoint in\n"
            + "\n".join(places)
            + "\n\nadd one in Models → Model manager… (Ctrl+Alt+M)."
        )

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
