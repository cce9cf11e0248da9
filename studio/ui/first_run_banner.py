"""The first-run banner above the canvas: Studio runs on its starter models, what they can do."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from studio.engine.models.registry import ModelInfo
from studio.session.first_run import runs_on_starters, starter_message
from studio.session.settings import FIRST_RUN_DISMISSED, stored_flag


class FirstRunBanner(QFrame):
    """Says what the bundled starter models can do; offers the model manager. Closing it hides
    it until the next start; "Don't show again" is remembered in the settings."""

    manager_requested = Signal()

    def __init__(self, store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store  # QSettings (value/setValue)
        self.closed_for_now = False
        self.setObjectName("FirstRunBanner")
        self.setStyleSheet(
            "#FirstRunBanner { background: #e3eefc; border: 1px solid #9dbbe6;"
            " border-radius: 4px; }"
            "#FirstRunBanner QLabel { color: #12305a; }"
        )
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.manager_button = QPushButton("Open model manager")
        self.manager_button.setToolTip(
            "Add or download Stable Diffusion models (Models → Model manager…, Ctrl+Alt+M)"
        )
        self.never_button = QPushButton("Don't show again")
        self.never_button.setToolTip("Hide this note for good (it is kept in the settings)")
        self.close_button = QPushButton("✕")
        self.close_button.setToolTip("Hide this note until Studio starts again")
        self.close_button.setFixedWidth(32)
        row = QHBoxLayout(self)  # one row: the canvas below keeps the height
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.message_label, 1)
        top = Qt.AlignmentFlag.AlignTop
        for button in (self.manager_button, self.never_button, self.close_button):
            row.addWidget(button, 0, top)
        self.manager_button.clicked.connect(self.manager_requested)
        self.never_button.clicked.connect(self.never_again)
        self.close_button.clicked.connect(self.close_for_now)
        self.hide()

    def update_for(self, models: list[ModelInfo]) -> None:
        """Show the note while only starter models are installed (and it was not put away)."""
        wanted = (
            runs_on_starters(models)
            and not self.closed_for_now
            and not stored_flag(self.store, FIRST_RUN_DISMISSED)
        )
        if wanted:
            self.message_label.setText(starter_message(models))
        self.setVisible(wanted)

    def close_for_now(self) -> None:
        self.closed_for_now = True
        self.hide()

    def never_again(self) -> None:
        self.store.setValue(FIRST_RUN_DISMISSED, True)
        self.store.sync()
        self.hide()

    @property
    def message(self) -> str:
        return self.message_label.text() if self.isVisible() else ""
