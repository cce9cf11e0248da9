"""Where the window and its docks start: the canvas first on first start, the artist's after."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow

GEOMETRY, STATE, COMPACT = "window/geometry", "window/state", "timeline/compact"
SIDE_SHARE = 0.28  # the right column's share of the width at most (the canvas gets the rest)
GENERATE_SHARE = 0.62  # of the right column's height: Generate above, Layers/Palette below
TIMELINE_FULL = 260  # px: the Timeline once a run is recorded


def restore_or_arrange(window: QMainWindow, store: QSettings) -> bool:
    """Restore the artist's geometry and docks; on first start fill the screen instead.

    Returns True on first start (the dock sizes follow once the window is shown)."""
    geometry, state = store.value(GEOMETRY), store.value(STATE)
    compact = str(store.value(COMPACT, "true" if state is None else "false")).lower() == "true"
    # before the docks are restored: a strip's saved height must fit the strip's minimum
    window.timeline_panel.set_compact(compact and not window.run_history.runs)
    if geometry is not None:
        window.restoreGeometry(geometry)
    if state is not None and window.restoreState(state):
        return False
    screen = window.screen() or QGuiApplication.primaryScreen()
    if geometry is None and screen is not None:
        window.setGeometry(screen.availableGeometry())
    return True


def size_docks(window: QMainWindow) -> None:
    """First start: docks as narrow as their content allows, the Timeline a strip."""
    generate = window.generate_dock
    side = max(generate.minimumSizeHint().width(), generate.widget().minimumWidth())
    side = min(max(side, 300), int(window.width() * SIDE_SHARE))
    window.resizeDocks([generate], [side], Qt.Orientation.Horizontal)
    column = max(200, window.height() - 120)
    upper = int(column * GENERATE_SHARE)
    window.resizeDocks(
        [generate, window.layers_dock], [upper, column - upper], Qt.Orientation.Vertical
    )
    strip = window.timeline_panel.sizeHint().height()
    window.resizeDocks([window.timeline_dock], [strip], Qt.Orientation.Vertical)
    window.canvas.fit()


def follow_runs(window: QMainWindow) -> None:
    """The Timeline strip opens into the whole panel when the first run is recorded."""
    panel = window.timeline_panel

    def on_runs() -> None:
        if panel.compact and window.run_history.runs:
            panel.set_compact(False)
            window.resizeDocks([window.timeline_dock], [TIMELINE_FULL], Qt.Orientation.Vertical)

    window.run_history.runs_changed.connect(on_runs)


def save_layout(window: QMainWindow, store: QSettings) -> None:
    store.setValue(GEOMETRY, window.saveGeometry())
    store.setValue(STATE, window.saveState())
    store.setValue(COMPACT, bool(window.timeline_panel.compact))
