"""The model manager's Installed tab: every model on disk, its details and card, remove/reveal."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QFile, QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.engine.models.catalog import GROUPS, CatalogEntry, own_folder, read_card
from studio.engine.models.checkpoints import PICKLE_SUFFIXES
from studio.units import format_bytes

COLUMNS = ("Name", "Kind", "Size", "Precision", "Location")
SIZE_COLUMN = 2
ENTRY_ROLE = Qt.ItemDataRole.UserRole
BUNDLED, OPENED = "Starter (bundled)", "Opened folder"  # catalog locations


class _Row(QTreeWidgetItem):
    """A table row that sorts the Size column by bytes, not by its text."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        column = self.treeWidget().sortColumn() if self.treeWidget() else 0
        if column == SIZE_COLUMN:
            return self.data(0, ENTRY_ROLE).size_bytes < other.data(0, ENTRY_ROLE).size_bytes
        return self.text(column).lower() < other.text(column).lower()


def details_html(entry: CatalogEntry) -> str:
    """The details pane: what the model is, where it lives, licence, notes and problems."""
    info = entry.info
    rows = [
        ("Kind", entry.kind_label),
        ("Size on disk", format_bytes(entry.size_bytes)),
        ("Precision", entry.precision),
        ("Format", {"diffusers": "diffusers folder", "single-file": "single file"}.get(
            info.format, info.format)),
        ("Location", entry.location),
        ("Path", info.path),
        ("Licence", entry.licence or "not stated (no model card licence found)"),
    ]  # fmt: skip
    if entry.sidecars:
        rows.append(("Comes with", ", ".join(Path(p).name for p in entry.sidecars)))
    out = [f"<h3>{html.escape(info.name)}</h3>"]
    if info.problem:
        out.append(f"<p><b>Cannot be used:</b> {html.escape(info.problem)}</p>")
    out.append("<table>")
    out += [f"<tr><td><b>{k}</b>&nbsp;</td><td>{html.escape(v)}</td></tr>" for k, v in rows]
    out.append("</table>")
    notes = list(info.notes)
    pickled = entry.precision == "unknown (pickle)" and Path(info.path).is_file()
    if pickled and info.kind != "unknown":
        notes.append(
            "A pickled file: Studio reads it weights-only. Convert it to .safetensors to load "
            "it faster and see its precision."
        )
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        out.append(f"<p><b>Notes</b></p><ul>{items}</ul>")
    return "".join(out)


class InstalledTab(QWidget):
    """List, search, filter, inspect, remove (to the trash) and reveal installed models."""

    rescan_requested = Signal()
    removed = Signal(str)  # path of the model that went to the trash
    forgotten = Signal(str)  # path of an opened folder to drop from the lists (left on disk)
    convert_requested = Signal(str)  # path of an installed pickle to write as .safetensors

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[CatalogEntry] = []
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search by name, kind, licence…")
        self.search_edit.setToolTip("Shows models whose name, kind, path or notes hold every word")
        self.search_edit.setClearButtonEnabled(True)
        self.kind_combo = QComboBox()
        self.kind_combo.setToolTip("Show only one kind of model")
        self.kind_combo.addItem("All kinds", None)
        for key, text in GROUPS.items():
            self.kind_combo.addItem(text, key)
        self.rescan_button = QPushButton("Rescan")
        self.rescan_button.setToolTip("Look in the model folders again")
        top = QHBoxLayout()
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.kind_combo)
        top.addWidget(self.rescan_button)

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.tree.setUniformRowHeights(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.header().setStretchLastSection(True)
        self.details = QTextBrowser()
        self.details.setOpenExternalLinks(False)
        self.details.setToolTip("What Studio found out about the model, and its model card")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tree)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)

        self.remove_button = QPushButton("Remove…")
        self.remove_button.setToolTip("Move the model (and its side files) to the trash")
        self.convert_button = QPushButton("Convert to .safetensors…")
        self.convert_button.setToolTip(
            "Write the pickled file as .safetensors (read weights-only, nothing in it is run); "
            "the original then goes to the trash"
        )
        self.reveal_button = QPushButton("Reveal in file manager")
        self.reveal_button.setToolTip("Open the folder that holds the model")
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.buttons = QHBoxLayout()  # the add-from-disk controls go on the left
        self.buttons.addStretch(1)
        self.buttons.addWidget(self.convert_button)
        self.buttons.addWidget(self.reveal_button)
        self.buttons.addWidget(self.remove_button)

        column = QVBoxLayout(self)
        column.addLayout(top)
        column.addWidget(split, 1)
        column.addLayout(self.buttons)
        column.addWidget(self.status_label)

        self.search_edit.textChanged.connect(self._apply_filter)
        self.kind_combo.currentIndexChanged.connect(self._apply_filter)
        self.rescan_button.clicked.connect(self.rescan_requested)
        self.tree.currentItemChanged.connect(self._show_current)
        self.remove_button.clicked.connect(self.remove_current)
        self.reveal_button.clicked.connect(self.reveal_current)
        self.convert_button.clicked.connect(self.convert_current)
        self._show_current()

    # ---- contents -------------------------------------------------------------------------
    def set_entries(self, entries: list[CatalogEntry]) -> None:
        """Show a fresh catalogue, keeping the selection when that model is still there."""
        keep = self.current_entry().path if self.current_entry() else None
        self.entries = list(entries)
        self.tree.setSortingEnabled(False)
        self.tree.clear()
        for entry in self.entries:
            row = _Row(
                [entry.name, entry.kind_label, format_bytes(entry.size_bytes), entry.precision,
                 entry.location]
            )  # fmt: skip
            row.setData(0, ENTRY_ROLE, entry)
            row.setToolTip(0, entry.path)
            row.setTextAlignment(SIZE_COLUMN, Qt.AlignmentFlag.AlignRight)
            if not entry.info.usable:
                row.setToolTip(1, f"Cannot be used: {entry.info.problem}")
                row.setForeground(1, self.palette().placeholderText())
            self.tree.addTopLevelItem(row)
            if entry.path == keep:
                self.tree.setCurrentItem(row)
        self.tree.setSortingEnabled(True)
        for column in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(column)
        self._count_kinds()
        self._apply_filter()
        self._show_current()

    def _count_kinds(self) -> None:
        """The kind filter says how many models of each kind there are."""
        self.kind_combo.setItemText(0, f"All kinds ({len(self.entries)})")
        for i in range(1, self.kind_combo.count()):
            key = self.kind_combo.itemData(i)
            count = sum(key in e.groups for e in self.entries)
            self.kind_combo.setItemText(i, f"{GROUPS[key]} ({count})")

    def visible_names(self) -> list[str]:
        """Names of the rows the search and filter let through, in table order."""
        items = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [item.text(0) for item in items if not item.isHidden()]

    def select(self, path: str) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, ENTRY_ROLE).path == path:
                self.tree.setCurrentItem(item)
                return True
        return False

    def current_entry(self) -> CatalogEntry | None:
        item = self.tree.currentItem()
        return item.data(0, ENTRY_ROLE) if item is not None and not item.isHidden() else None

    def _apply_filter(self) -> None:
        text, group = self.search_edit.text(), self.kind_combo.currentData()
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setHidden(not item.data(0, ENTRY_ROLE).matches(text, group))
        self._show_current()

    def _show_current(self, *_args) -> None:
        entry = self.current_entry()
        bundled = entry is not None and entry.location == BUNDLED
        self.remove_button.setEnabled(entry is not None and not bundled)
        self.remove_button.setText("Forget…" if entry and entry.location == OPENED else "Remove…")
        self.remove_button.setToolTip(_remove_tip(entry))
        self.reveal_button.setEnabled(entry is not None)
        self.convert_button.setVisible(_convertible(entry))
        if entry is None:
            shown = len(self.visible_names())
            self.details.setHtml(
                f"<p>{shown} of {len(self.entries)} models shown. Choose one to see its "
                "details and model card.</p><p>Add models with <b>Add file…</b>, <b>Add "
                "folder…</b>, or drop files or folders onto this window.</p>"
            )
            return
        card = read_card(entry.path)
        text = details_html(entry)
        if card:
            text += "<hr><p><b>Model card</b></p>"
        self.details.setHtml(text)
        if card:  # markdown after the HTML head: setMarkdown replaces, so append a block
            cursor = self.details.textCursor()
            cursor.movePosition(cursor.MoveOperation.End)
            cursor.insertBlock()
            cursor.insertMarkdown(_strip_front_matter(card))
            self.details.moveCursor(cursor.MoveOperation.Start)

    # ---- actions --------------------------------------------------------------------------
    def remove_current(self) -> bool:
        """Ask (naming the model and its size), then move it and its side files to the trash."""
        entry = self.current_entry()
        if entry is None or entry.location == BUNDLED:
            return False
        if entry.location == OPENED:
            return self._forget(entry)
        home = own_folder(entry.path)
        also = [Path(p).name for p in entry.sidecars]
        text = f"Move {entry.name} ({format_bytes(entry.size_bytes)}) to the trash?"
        if home is not None:
            text += f"\n\nIt has a folder of its own, which goes with it: {home.name}/."
        elif also:
            text += f"\n\nIts side files go with it: {', '.join(also)}."
        text += f"\n\n{entry.path}"
        answer = QMessageBox.question(self, "Remove model", text)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        for path in [str(home)] if home is not None else [entry.path, *entry.sidecars]:
            if Path(path).exists() and not move_to_trash(path):
                self.status_label.setText(f"Could not move {Path(path).name} to the trash.")
                if path != entry.path and home is None:  # the model went: the lists follow
                    self.removed.emit(entry.path)
                return False
        self.status_label.setText(f"Moved {entry.name} to the trash.")
        self.removed.emit(entry.path)
        return True

    def _forget(self, entry: CatalogEntry) -> bool:
        """A folder opened from elsewhere is the artist's: drop it from the lists, keep it."""
        text = (
            f"Forget {entry.name}? It leaves Studio's model lists; the folder itself stays "
            f"where it is.\n\n{entry.path}"
        )
        if QMessageBox.question(self, "Forget model", text) != QMessageBox.StandardButton.Yes:
            return False
        self.status_label.setText(f"Forgot {entry.name}; its folder is untouched.")
        self.forgotten.emit(entry.path)
        return True

    def convert_current(self) -> bool:
        """Ask, then have the manager convert the chosen pickle (off the GUI thread)."""
        entry = self.current_entry()
        if not _convertible(entry):
            return False
        text = (
            f"Convert {entry.name} ({format_bytes(entry.size_bytes)}) to .safetensors? It is read "
            "weights-only (nothing in it is run); afterwards the original goes to the trash."
        )
        if QMessageBox.question(self, "Convert model", text) != QMessageBox.StandardButton.Yes:
            return False
        self.convert_requested.emit(entry.path)
        return True

    def reveal_current(self) -> None:
        entry = self.current_entry()
        if entry is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(entry.path).parent)))


def _convertible(entry: CatalogEntry | None) -> bool:
    return (
        entry is not None
        and entry.location != BUNDLED
        and Path(entry.path).is_file()
        and Path(entry.path).suffix.lower() in PICKLE_SUFFIXES
        and entry.info.kind != "unknown"
    )


def _remove_tip(entry: CatalogEntry | None) -> str:
    if entry is not None and entry.location == BUNDLED:
        return "Starter models come with Studio and cannot be removed"
    if entry is not None and entry.location == OPENED:
        return "Drop this opened folder from the lists; nothing on disk changes (Delete)"
    return "Move the model (and its side files) to the trash (Delete)"


def move_to_trash(path: str) -> bool:
    """QFile.moveToTrash, after making sure the trash's parent folder exists (Qt needs it)."""
    if QFile.moveToTrash(path):
        return True
    data = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    if not data or Path(data).is_dir():
        return False
    Path(data).mkdir(parents=True, exist_ok=True)
    return QFile.moveToTrash(path)


def _strip_front_matter(card: str) -> str:
    if card.startswith("---"):
        end = card.find("\n---", 3)
        if end != -1:
            return card[end + 4 :].lstrip("\n")
    return card
