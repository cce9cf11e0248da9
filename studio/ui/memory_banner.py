"""A banner above the canvas when a job would not fit in memory: the numbers, one button per
option that fits, Details on demand; also says when a job ran with safer settings."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from studio.engine.memory.fit import MemoryVerdict
from studio.ui.error_banner import MessageBanner


class MemoryBanner(MessageBanner):
    """Non-modal: the artist keeps painting; choosing an option starts the changed job."""

    option_chosen = Signal(object)  # the option's index, or None for "Try anyway"
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "MemoryBanner",
            ("#fff4d6", "#e0c070", "#4a3800"),
            "Show the estimate part by part",
            "Dismiss (the job is not started)",
            details_height=140,
            parent=parent,
        )
        self.option_row = QHBoxLayout()
        self.option_buttons: list[QPushButton] = []
        self._finish(self.option_row)

    def show_verdict(self, verdict: MemoryVerdict) -> None:
        """The job that was not started: what it needs, what is free, what would fit."""
        self._clear_options()
        for i, option in enumerate(verdict.options):
            self._add_button(option.text, f"Start the job changed to: {option.label}", i)
        self._add_button(
            "Try anyway",
            "Start the job as it is; if memory runs out it is retried with safer settings",
            None,
        )
        self.option_row.addStretch(1)
        self._show(verdict.message, verdict.details)

    def show_note(self, text: str) -> None:
        """A job that ran differently than asked (out-of-memory retry, float32 decode)."""
        self._clear_options()
        self._show(text, "")

    def _add_button(self, text: str, tip: str, index: int | None) -> None:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(lambda: self._choose(index))
        self.option_row.addWidget(button)
        self.option_buttons.append(button)

    def _clear_options(self) -> None:
        while self.option_row.count():
            item = self.option_row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.option_buttons = []

    def _choose(self, index: int | None) -> None:
        self.hide()
        self.option_chosen.emit(index)

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()
