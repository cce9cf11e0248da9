"""A banner above the canvas when a job would not fit in memory: the numbers, one button per
option that fits, Details on demand; also says when a job ran with safer settings."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.engine.memory_fit import MemoryVerdict


class MemoryBanner(QFrame):
    """Non-modal: the artist keeps painting; choosing an option starts the changed job."""

    option_chosen = Signal(object)  # the option's index, or None for "Try anyway"
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MemoryBanner")
        self.setStyleSheet(
            "#MemoryBanner { background: #fff4d6; border: 1px solid #e0c070; border-radius: 4px; }"
            "#MemoryBanner QLabel { color: #4a3800; }"
        )
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.details_button = QPushButton("Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolTip("Show the estimate part by part")
        self.close_button = QPushButton("✕")
        self.close_button.setToolTip("Dismiss (the job is not started)")
        self.close_button.setFixedWidth(32)
        self.details_view = QPlainTextEdit()
        self.details_view.setReadOnly(True)
        self.details_view.setMaximumHeight(140)
        self.details_view.hide()
        self.option_row = QHBoxLayout()
        self.option_buttons: list[QPushButton] = []
        top = QHBoxLayout()
        top.addWidget(self.message_label, 1)
        top.addWidget(self.details_button)
        top.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(top)
        layout.addLayout(self.option_row)
        layout.addWidget(self.details_view)
        self.details_button.toggled.connect(self.details_view.setVisible)
        self.close_button.clicked.connect(self._dismiss)
        self.hide()

    def show_verdict(self, verdict: MemoryVerdict) -> None:
        """The job that was not started: what it needs, what is free, what would fit."""
        self._clear_options()
        self.message_label.setText(verdict.message)
        for i, option in enumerate(verdict.options):
            self._add_button(option.text, f"Start the job changed to: {option.label}", i)
        self._add_button(
            "Try anyway",
            "Start the job as it is; if memory runs out it is retried with safer settings",
            None,
        )
        self.option_row.addStretch(1)
        self._show_details(verdict.details)

    def show_note(self, text: str) -> None:
        """A job that ran differently than asked (out-of-memory retry, float32 decode)."""
        self._clear_options()
        self.message_label.setText(text)
        self._show_details("")

    def _show_details(self, details: str) -> None:
        self.details_view.setPlainText(details)
        self.details_button.setEnabled(bool(details))
        self.details_button.setChecked(False)
        self.show()

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

    def _dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()

    @property
    def message(self) -> str:
        return self.message_label.text() if self.isVisible() else ""
