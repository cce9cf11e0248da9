"""Preferences: device and precision, memory preset, autosave, step-record memory, shortcuts."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from studio.ui.actions import ACTIONS, conflicts, shortcuts_for, store_shortcuts
from studio.ui.memory_preferences import MemoryPreferences
from studio.ui.timeline.panel import RECORD_MB_KEY, record_cap_bytes

AUTOSAVE_KEY = "autosave/seconds"
AUTOSAVE_DEFAULT = 60


def autosave_seconds(settings: QSettings) -> int:
    return max(10, int(settings.value(AUTOSAVE_KEY, AUTOSAVE_DEFAULT)))


DEVICES = [
    ("Automatic (CUDA, else Apple GPU, else CPU)", "auto"),
    ("CPU", "cpu"),
    ("NVIDIA GPU (CUDA)", "cuda"),
    ("Apple GPU (MPS)", "mps"),
]
PRECISIONS = [
    ("Automatic (fp16 on GPU; bf16 on CPUs where it is faster)", "auto"),
    ("float32 (exact, slowest)", "float32"),
    ("float16", "float16"),
    ("bfloat16", "bfloat16"),
]


def engine_choice(settings: QSettings) -> tuple[str | None, str | None]:
    """(device, dtype) stored in Preferences; None means automatic."""
    device = str(settings.value("engine/device", "auto"))
    dtype = str(settings.value("engine/dtype", "auto"))
    return (None if device == "auto" else device, None if dtype == "auto" else dtype)


class PreferencesDialog(QDialog):
    """Edits engine/device, engine/dtype, memory/…, autosave/seconds and shortcuts/<action id>."""

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.settings = settings
        self.device_combo = QComboBox()
        self.dtype_combo = QComboBox()
        for combo, items, key in (
            (self.device_combo, DEVICES, "engine/device"),
            (self.dtype_combo, PRECISIONS, "engine/dtype"),
        ):
            for text, value in items:
                combo.addItem(text, value)
            combo.setCurrentIndex(max(0, combo.findData(str(settings.value(key, "auto")))))
        self.device_combo.setToolTip("Where models run; applies to the next generation")
        self.dtype_combo.setToolTip("Number format of the model weights; float32 is exact")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.autosave_spin = QSpinBox()
        self.autosave_spin.setRange(10, 3600)
        self.autosave_spin.setSuffix(" s")
        self.autosave_spin.setValue(autosave_seconds(settings))
        self.autosave_spin.setToolTip("How often open work is saved to the recovery folder")
        self.record_spin = QSpinBox()
        self.record_spin.setRange(0, 16384)
        self.record_spin.setSuffix(" MB")
        self.record_spin.setValue(record_cap_bytes(settings) // 2**20)
        self.record_spin.setToolTip(
            "Memory per run for the full-size steps of the Timeline; past it the oldest "
            "steps keep only thumbnails (0: thumbnails only)"
        )
        self.memory_box = MemoryPreferences(settings, engine_choice(settings)[0])
        self.shortcut_table = self._shortcut_table()
        self.problem = QLabel("")
        self.problem.setStyleSheet("color: #b00020")
        form = QFormLayout(self)
        form.addRow("Device", self.device_combo)
        form.addRow("Precision", self.dtype_combo)
        form.addRow(QLabel("Changing these reloads the model on the next generation."))
        form.addRow("Autosave every", self.autosave_spin)
        form.addRow("Step recording memory", self.record_spin)
        form.addRow(self.memory_box)
        form.addRow(QLabel("Shortcuts (several: separate with ;)"))
        form.addRow(self.shortcut_table)
        form.addRow(self.problem)
        form.addRow(buttons)

    def _shortcut_table(self) -> QTableWidget:
        table = QTableWidget(len(ACTIONS), 2)
        table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        table.setMinimumHeight(240)
        for row, spec in enumerate(ACTIONS):
            name = QTableWidgetItem(f"{spec.menu}: {spec.text}")
            name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
            name.setData(Qt.ItemDataRole.UserRole, spec.id)
            keys = shortcuts_for(spec, self.settings)
            text = "; ".join(k.toString(QKeySequence.SequenceFormat.PortableText) for k in keys)
            table.setItem(row, 0, name)
            table.setItem(row, 1, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        return table

    def shortcut_choices(self) -> dict[str, list[str]]:
        """Action id -> the key sequences typed in the table (portable text)."""
        out = {}
        for row in range(self.shortcut_table.rowCount()):
            action_id = self.shortcut_table.item(row, 0).data(Qt.ItemDataRole.UserRole)
            text = self.shortcut_table.item(row, 1).text()
            out[action_id] = [k.strip() for k in text.split(";") if k.strip()]
        return out

    def accept(self) -> None:
        choices = self.shortcut_choices()
        bad = [k for keys in choices.values() for k in keys if QKeySequence(k).isEmpty()]
        clash = conflicts(choices)
        if bad or clash:
            self.problem.setText(
                f"Not a key: {', '.join(bad)}"
                if bad
                else "Used twice: " + "; ".join(f"{k} ({', '.join(v)})" for k, v in clash.items())
            )
            return
        self.settings.setValue("engine/device", self.device_combo.currentData())
        self.settings.setValue("engine/dtype", self.dtype_combo.currentData())
        self.settings.setValue(AUTOSAVE_KEY, self.autosave_spin.value())
        self.settings.setValue(RECORD_MB_KEY, self.record_spin.value())
        self.memory_box.store(self.settings)
        for action_id, keys in choices.items():
            store_shortcuts(self.settings, action_id, keys)
        super().accept()
