"""The one table of window actions: id, menu, text, default shortcuts, tooltip.

Shortcuts can be changed in Preferences; overrides live in QSettings under `shortcuts/<id>`
as a `;`-separated list of portable key sequences (empty string = no shortcut).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence


@dataclass(frozen=True)
class ActionSpec:
    """One row of the action table."""

    id: str
    menu: str
    text: str
    shortcuts: tuple[str, ...] = ()
    tip: str = ""


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("new", "File", "New…", ("Ctrl+N",), "New document (size presets or custom)"),
    ActionSpec("open", "File", "Open…", ("Ctrl+O",), "Open a .studio project or an image"),
    ActionSpec("save", "File", "Save", ("Ctrl+S",), "Save the project (.studio)"),
    ActionSpec("save_as", "File", "Save as…", ("Ctrl+Shift+S",), "Save under a new name"),
    ActionSpec("import_layer", "File", "Import image as layer…", (), "Add an image as a layer"),
    ActionSpec("import_labels", "File", "Import label map…", (), "Colour-coded or indexed PNG"),
    ActionSpec("export_labels", "File", "Export label layer…", (), "Indexed PNG with palette"),
    ActionSpec(
        "export_canvas",
        "File",
        "Export canvas as PNG…",
        ("Ctrl+Shift+E",),
        "Save the visible canvas as PNG, with the generation recipe",
    ),
    ActionSpec(
        "export_layer",
        "File",
        "Export active layer as PNG…",
        (),
        "Save the active layer as PNG, with its generation recipe",
    ),
    ActionSpec(
        "load_settings",
        "File",
        "Load settings from image…",
        (),
        "Prompt, seed, steps, CFG, size and sampler from a PNG (or drop it on the Generate panel)",
    ),
    ActionSpec("open_logs", "File", "Open log folder"),
    ActionSpec("quit", "File", "Quit", ("Ctrl+Q",)),
    ActionSpec("undo", "Edit", "Undo", ("Ctrl+Z",)),
    ActionSpec("redo", "Edit", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y")),
    ActionSpec(
        "clear",
        "Edit",
        "Clear selection contents",
        ("Delete",),
        "Erase what is selected on the active layer",
    ),
    ActionSpec(
        "preferences",
        "Edit",
        "Preferences…",
        ("Ctrl+,",),
        "Device, precision, autosave and shortcuts",
    ),
    ActionSpec("select_all", "Select", "Select all", ("Ctrl+A",)),
    ActionSpec("deselect", "Select", "Deselect", ("Ctrl+D",)),
    ActionSpec(
        "selection_to_mask", "Select", "Selection to mask", (), "New mask layer from the selection"
    ),
    ActionSpec("mask_invert", "Select", "Invert mask", ("Ctrl+I",), "Invert the active mask"),
    ActionSpec("mask_grow", "Select", "Grow mask", (), "Grow the active mask by 4 pixels"),
    ActionSpec("mask_shrink", "Select", "Shrink mask", (), "Shrink the active mask by 4 pixels"),
    ActionSpec("mask_feather", "Select", "Feather mask", (), "Soften the mask edge (8 pixels)"),
    ActionSpec("new_raster", "Layer", "New raster layer", ("Ctrl+Shift+N",)),
    ActionSpec(
        "new_label", "Layer", "New label layer", ("Ctrl+Shift+L",), "Paint classes from the palette"
    ),
    ActionSpec(
        "new_mask", "Layer", "New mask layer", ("Ctrl+Shift+M",), "Paint where to regenerate"
    ),
    ActionSpec("duplicate_layer", "Layer", "Duplicate layer", ("Ctrl+J",)),
    ActionSpec("delete_layer", "Layer", "Delete layer", ("Ctrl+Shift+Delete",)),
    ActionSpec(
        "labels_alone",
        "View",
        "Show labels alone",
        ("Ctrl+L",),
        "Show only the label layers, fully opaque",
    ),
    ActionSpec(
        "outpaint",
        "Image",
        "Extend canvas for outpainting…",
        ("Ctrl+Alt+E",),
        "Grow the canvas on any side and mask the new band, ready to inpaint",
    ),
    ActionSpec("tool_brush", "Tools", "Brush", ("B",)),
    ActionSpec("tool_eraser", "Tools", "Eraser", ("E",)),
    ActionSpec("tool_fill", "Tools", "Fill", ("G",)),
    ActionSpec("tool_eyedropper", "Tools", "Eyedropper", ("I",)),
    ActionSpec("tool_select_rect", "Tools", "Rectangle select", ("M",)),
    ActionSpec("tool_select_lasso", "Tools", "Lasso select", ("L",)),
    ActionSpec("size_down", "Tools", "Smaller brush", ("[",)),
    ActionSpec("size_up", "Tools", "Bigger brush", ("]",)),
    ActionSpec("swap_colors", "Tools", "Swap colours / classes", ("X",)),
    ActionSpec(
        "find_class",
        "Tools",
        "Find a class…",
        ("Ctrl+F",),
        "Type a class name in the Palette (Up/Down to move, Enter to paint with it)",
    ),
    ActionSpec(
        "generate",
        "Generate",
        "Generate",
        ("Ctrl+Return", "Ctrl+Enter"),
        "Generate from the prompt (queues if a job is running)",
    ),
    ActionSpec(
        "cancel", "Generate", "Cancel", ("Esc",), "Stop the running job and keep the last preview"
    ),
    ActionSpec(
        "rerun",
        "Generate",
        "Re-run exactly",
        ("Ctrl+Shift+R",),
        "Generate the active layer again from its recipe (same model file, seed and settings)",
    ),
    ActionSpec("mode_prompt", "Generate", "Prompt mode", ("Alt+1",), "Text to image (img2img)"),
    ActionSpec("mode_paint", "Generate", "Paint mode", ("Alt+2",), "A picture from the labels"),
    ActionSpec("mode_inpaint", "Generate", "Inpaint mode", ("Alt+3",), "Repaint under the mask"),
    ActionSpec("mode_translate", "Generate", "Translate mode", ("Alt+4",), "pix2pix / CycleGAN"),
    ActionSpec("mode_sample", "Generate", "Sample mode", ("Alt+5",), "StyleGAN: from a seed"),
    ActionSpec(
        "focus_prompt",
        "Generate",
        "Edit the prompt",
        ("Alt+P",),
        "Put the cursor in the prompt box, its text selected",
    ),
    ActionSpec("fit", "View", "Fit to window", ("Ctrl+0",)),
    ActionSpec("actual_size", "View", "Actual size (100%)", ("Ctrl+1",)),
    ActionSpec("zoom_in", "View", "Zoom in", ("Ctrl++", "Ctrl+=")),
    ActionSpec("zoom_out", "View", "Zoom out", ("Ctrl+-",)),
    ActionSpec(
        "model_manager",
        "Models",
        "Model manager…",
        ("Ctrl+Alt+M",),
        "See, add and remove installed models (kind, size, precision, licence, card)",
    ),
    ActionSpec(
        "open_model",
        "Models",
        "Open model folder…",
        ("Ctrl+Shift+O",),
        "Pick a Stable Diffusion diffusers folder to generate with",
    ),
    ActionSpec(
        "model_settings",
        "Models",
        "Settings of the chosen model…",
        (),
        "What Studio assumed about the model; set its prediction type or Turbo/LCM mode",
    ),
    ActionSpec("refresh_models", "Models", "Refresh model list", ("F5",)),
    ActionSpec("about", "Help", "About Studio"),
)
SPECS = {spec.id: spec for spec in ACTIONS}
MENU_ORDER = (
    "File",
    "Edit",
    "Image",
    "Layer",
    "Select",
    "Tools",
    "Generate",
    "View",
    "Models",
    "Help",
)


def shortcuts_for(spec: ActionSpec, settings: QSettings) -> list[QKeySequence]:
    """The configured shortcuts of an action (QSettings override, else the default)."""
    stored = settings.value(f"shortcuts/{spec.id}")
    keys = spec.shortcuts if stored is None else [k for k in str(stored).split(";") if k]
    return [QKeySequence(k) for k in keys]


def store_shortcuts(settings: QSettings, action_id: str, keys: list[str]) -> None:
    spec = SPECS[action_id]
    if tuple(keys) == spec.shortcuts:
        settings.remove(f"shortcuts/{action_id}")
    else:
        settings.setValue(f"shortcuts/{action_id}", ";".join(keys))


def conflicts(assigned: dict[str, list[str]]) -> dict[str, list[str]]:
    """Key sequence -> action ids, for sequences used by more than one action."""
    users: dict[str, list[str]] = {}
    for action_id, keys in assigned.items():
        for key in keys:
            users.setdefault(QKeySequence(key).toString(), []).append(action_id)
    return {k: v for k, v in users.items() if len(v) > 1}
