"""Non-modal banners above the canvas: short text in plain words, Details on demand, close.

MessageBanner is the frame both use; ErrorBanner adds Copy (the newest error)."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class MessageBanner(QFrame):
    """Message, Details (a read-only text shown on demand) and ✕; subclasses add buttons to
    `top` and rows under it, then call `_finish`."""

    def __init__(
        self,
        name: str,
        colours: tuple[str, str, str],  # background, border, text
        details_tip: str,
        close_tip: str,
        details_height: int = 160,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        background, border, text = colours
        self.setObjectName(name)
        self.setStyleSheet(
            f"#{name} {{ background: {background}; border: 1px solid {border}; "
            f"border-radius: 4px; }} #{name} QLabel {{ color: {text}; }}"
        )
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.details_button = QPushButton("Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolTip(details_tip)
        self.close_button = QPushButton("✕")
        self.close_button.setToolTip(close_tip)
        self.close_button.setFixedWidth(32)
        self.details_view = QPlainTextEdit()
        self.details_view.setReadOnly(True)
        self.details_view.setMaximumHeight(details_height)
        self.details_view.hide()
        self.top = QHBoxLayout()
        self.top.addWidget(self.message_label, 1)
        self.top.addWidget(self.details_button)
        self.details_button.toggled.connect(self.details_view.setVisible)
        self.close_button.clicked.connect(self.dismiss)

    def _finish(self, *rows: QLayout) -> None:
        """✕ last on the top row, then the given rows, then the details; hidden until used."""
        self.top.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(self.top)
        for row in rows:
            layout.addLayout(row)
        layout.addWidget(self.details_view)
        self.hide()

    def _show(self, message: str, details: str) -> None:
        self.message_label.setText(message)
        self.details_view.setPlainText(details)
        self.details_button.setEnabled(bool(details))
        self.details_button.setChecked(False)
        self.show()

    def dismiss(self) -> None:
        self.hide()

    @property
    def message(self) -> str:
        return self.message_label.text() if self.isVisible() else ""


class ErrorBanner(MessageBanner):
    """Shows the newest error in plain words; technical details only when asked for."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "ErrorBanner",
            ("#fde2e1", "#e0a09c", "#5a1410"),
            "Show the technical details",
            "Dismiss",
            parent=parent,
        )
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the message and details to the clipboard")
        self.copy_button.clicked.connect(self.copy)
        self.top.addWidget(self.copy_button)
        self._finish()

    def show_error(self, message: str, details: str = "") -> None:
        self._show(message, details)

    def copy(self) -> None:
        text = self.message_label.text()
        if self.details_view.toPlainText():
            text += "\n\n" + self.details_view.toPlainText()
        QGuiApplication.clipboard().setText(text)
