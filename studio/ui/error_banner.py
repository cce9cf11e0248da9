"""A non-modal error banner above the canvas: short text, Details, Copy, close."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class ErrorBanner(QFrame):
    """Shows the newest error in plain words; technical details only when asked for."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ErrorBanner")
        self.setStyleSheet(
            "#ErrorBanner { background: #fde2e1; border: 1px solid #e0a09c; border-radius: 4px; }"
            "#ErrorBanner QLabel { color: #5a1410; }"
        )
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.details_button = QPushButton("Details")
        self.details_button.setCheckable(True)
        self.details_button.setToolTip("Show the technical details")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the message and details to the clipboard")
        self.close_button = QPushButton("✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setFixedWidth(32)
        self.details_view = QPlainTextEdit()
        self.details_view.setReadOnly(True)
        self.details_view.setMaximumHeight(160)
        self.details_view.hide()
        top = QHBoxLayout()
        top.addWidget(self.message_label, 1)
        for b in (self.details_button, self.copy_button, self.close_button):
            top.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(top)
        layout.addWidget(self.details_view)
        self.details_button.toggled.connect(self.details_view.setVisible)
        self.copy_button.clicked.connect(self.copy)
        self.close_button.clicked.connect(self.dismiss)
        self.hide()

    def show_error(self, message: str, details: str = "") -> None:
        self.message_label.setText(message)
        self.details_view.setPlainText(details)
        self.details_button.setEnabled(bool(details))
        self.details_button.setChecked(False)
        self.show()

    def copy(self) -> None:
        text = self.message_label.text()
        if self.details_view.toPlainText():
            text += "\n\n" + self.details_view.toPlainText()
        QGuiApplication.clipboard().setText(text)

    def dismiss(self) -> None:
        self.hide()

    @property
    def message(self) -> str:
        return self.message_label.text() if self.isVisible() else ""
