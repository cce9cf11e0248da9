"""The model manager window: listing, search/filter, remove to trash, reveal, Models menu."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from studio.session.model_import import ModelImporter
from studio.ui.models.manager import ModelManager
from tests.engine.models.test_catalog import CARD, lora, spade, taesd


@pytest.fixture
def models(tmp_path, tiny_sd_path, monkeypatch):
    """A user models folder with one model of several kinds; trash and home kept in tmp."""
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "studio-home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    folder = tmp_path / "studio-home" / "models"
    folder.mkdir(parents=True)
    shutil.copytree(tiny_sd_path, folder / "tiny-sd")
    (folder / "tiny-sd" / "README.md").write_text(CARD)
    lora(folder / "ink-lora.safetensors")
    taesd(folder / "taesd.safetensors")
    spade(folder / "ade.safetensors")
    (folder / "ade.json").write_text('{"label_set": "ade20k"}')
    (folder / "broken.ckpt").write_bytes(b"this is not a checkpoint")
    return folder


def manager(qtbot, folder) -> ModelManager:
    window = ModelManager(places={"User models": str(folder)}, importer=ModelImporter())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def answer_next_box(qtbot, button, seen: list[str]) -> None:
    """Click `button` on the next message box that opens, remembering its text."""

    def click():
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, click)


def row(window, name):
    tree = window.installed.tree
    return next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                if tree.topLevelItem(i).text(0) == name)  # fmt: skip


def test_lists_every_kind_with_size_precision_and_card(qtbot, models):
    window = manager(qtbot, models)
    tab = window.installed
    assert set(tab.visible_names()) == {
        "tiny-sd", "ink-lora.safetensors", "taesd.safetensors", "ade.safetensors", "broken.ckpt",
    }  # fmt: skip
    sd = row(window, "tiny-sd")
    assert [sd.text(c) for c in (1, 3, 4)] == ["SD 1.x", "fp32", "User models"]
    assert sd.text(2).endswith("MB")
    assert row(window, "ink-lora.safetensors").text(1) == "LoRA (SD 1.x)"
    assert row(window, "ink-lora.safetensors").text(3) == "fp16"
    assert row(window, "taesd.safetensors").text(1) == "Preview decoder (TAESD)"
    tab.tree.setCurrentItem(sd)
    text = tab.details.toPlainText()
    assert "creativeml-openrail-m" in text and "Tiny SD" in text and "A test model." in text
    assert "license:" not in text  # the card's YAML head is read, not shown
    tab.tree.setCurrentItem(row(window, "broken.ckpt"))
    assert "Cannot be used" in tab.details.toPlainText()
    assert "not a readable checkpoint" in tab.details.toPlainText()
    tab.tree.sortByColumn(2, Qt.SortOrder.DescendingOrder)  # by bytes, not by text
    assert tab.visible_names()[0] == "tiny-sd"


def test_search_and_kind_filter(qtbot, models):
    window = manager(qtbot, models)
    tab = window.installed
    QTest.keyClicks(tab.search_edit, "ink")
    assert tab.visible_names() == ["ink-lora.safetensors"]
    tab.search_edit.clear()
    tab.kind_combo.setCurrentIndex(tab.kind_combo.findData("taesd"))
    assert tab.visible_names() == ["taesd.safetensors"]
    assert tab.kind_combo.currentText() == "Preview decoder (1)"
    assert tab.kind_combo.itemText(0) == "All kinds (5)"
    tab.kind_combo.setCurrentIndex(tab.kind_combo.findData("unusable"))
    assert tab.visible_names() == ["broken.ckpt"]
    tab.kind_combo.setCurrentIndex(tab.kind_combo.findData("spade"))
    QTest.keyClicks(tab.search_edit, "lora")
    assert tab.visible_names() == []
    assert "0 of 5 models shown" in tab.details.toPlainText()


def test_remove_moves_the_model_and_its_side_files_to_the_trash(qtbot, models, tmp_path):
    window = manager(qtbot, models)
    changes = []
    window.models_changed.connect(lambda: changes.append(1))
    window.installed.select(str(models / "ade.safetensors"))
    seen: list[str] = []
    answer_next_box(qtbot, QMessageBox.StandardButton.No, seen)
    assert not window.installed.remove_current()
    assert (models / "ade.safetensors").exists() and not changes
    answer_next_box(qtbot, QMessageBox.StandardButton.Yes, seen)
    assert window.installed.remove_current()
    assert "ade.safetensors" in seen[1] and "KB" in seen[1] and "ade.json" in seen[1]
    assert not (models / "ade.safetensors").exists() and not (models / "ade.json").exists()
    trash = tmp_path / "xdg-data" / "Trash" / "files"
    assert {p.name for p in trash.iterdir()} == {"ade.safetensors", "ade.json"}
    assert changes == [1] and "ade.safetensors" not in window.installed.visible_names()


def test_a_model_in_a_folder_of_its_own_goes_to_the_trash_with_its_folder(qtbot, models, tmp_path):
    home = models / "my-spade"
    home.mkdir()
    spade(home / "my-spade.safetensors")
    (home / "my-spade.json").write_text('{"label_set": "landscape"}')
    (home / "README.md").write_text("# my SPADE")
    window = manager(qtbot, models)
    window.installed.select(str(home / "my-spade.safetensors"))
    seen: list[str] = []
    answer_next_box(qtbot, QMessageBox.StandardButton.Yes, seen)
    assert window.installed.remove_current()
    assert "folder of its own" in seen[0] and "my-spade/" in seen[0]
    assert not home.exists()
    trash = tmp_path / "xdg-data" / "Trash" / "files"
    assert (trash / "my-spade" / "README.md").is_file()
    assert "my-spade.safetensors" not in window.installed.visible_names()


class _UrlCatcher(QObject):
    def __init__(self):
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url):
        self.urls.append(url)


def test_reveal_opens_the_folder_that_holds_the_model(qtbot, models):
    window = manager(qtbot, models)
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        window.installed.select(str(models / "taesd.safetensors"))
        window.installed.reveal_button.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [u.toLocalFile() for u in catcher.urls] == [str(models)]


def test_models_menu_and_ctrl_alt_m_open_the_manager(make_window, qtbot, models):
    window = make_window()
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus.index("View") + 1 == menus.index("Models") == menus.index("Help") - 1
    models_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Models")
    texts = [a.text() for a in models_menu.actions()]
    assert texts[:2] == ["Model manager…", "Open model folder…"]
    assert window.actions["refresh_models"].shortcut().toString() == "F5"
    QTest.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.AltModifier)  # fmt: skip
    qtbot.waitUntil(lambda: window.model_manager is not None and window.model_manager.isVisible())
    assert "tiny-sd" in window.model_manager.installed.visible_names()
    assert not window.model_manager.isModal()


def test_removing_the_chosen_model_refreshes_the_generate_dock(make_window, qtbot, models):
    window = make_window()
    combo = window.prompt_panel.model_combo
    assert any(combo.itemData(i) == str(models / "tiny-sd") for i in range(combo.count()))
    window.session.settings.model_path = str(models / "tiny-sd")
    manager_window = window.open_model_manager()
    manager_window.installed.select(str(models / "tiny-sd"))
    answer_next_box(qtbot, QMessageBox.StandardButton.Yes, [])
    assert manager_window.installed.remove_current()
    assert all(combo.itemData(i) != str(models / "tiny-sd") for i in range(combo.count()))
    assert window.session.settings.model_path == ""
    manager_window.close()


def test_extra_tabs_can_be_added(qtbot, models):
    from PySide6.QtWidgets import QLabel

    places = {"User models": str(models)}
    window = ModelManager(downloads=QLabel("downloads"), places=places, importer=ModelImporter())
    qtbot.addWidget(window)
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Installed", "Download"]
    assert window.add_tab(QLabel("x"), "More") == 2


# ---- add from disk ---------------------------------------------------------------------------
def wait_idle(qtbot, window):
    qtbot.waitUntil(lambda: not window.importer.busy and not window.progress_widget.isVisible(),
                    timeout=20000)  # fmt: skip
    assert window.importer.wait(5.0)


def drop(window, paths):
    from PySide6.QtCore import QMimeData, QPoint, QPointF
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    action, buttons = Qt.DropAction.CopyAction, Qt.MouseButton.LeftButton
    enter = QDragEnterEvent(QPoint(50, 50), action, mime, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(50, 50), action, mime, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)
    assert event.isAccepted()


def test_add_file_copies_and_lists_it(qtbot, models, tmp_path):
    window = manager(qtbot, models)
    changes = []
    window.models_changed.connect(lambda: changes.append(1))
    src = lora(tmp_path / "new-style.safetensors")
    window.add_paths([str(src)])
    assert window.progress_widget.isVisible()
    wait_idle(qtbot, window)
    assert (models / "new-style.safetensors").read_bytes() == src.read_bytes() and src.exists()
    assert "new-style.safetensors" in window.installed.visible_names() and changes == [1]
    assert window.installed.current_entry().name == "new-style.safetensors"
    assert window.installed.status_label.text() == "Added new-style.safetensors."


def test_drop_a_folder_and_a_pickle_converts_and_moves(qtbot, models, tmp_path, tiny_sd_path):
    window = manager(qtbot, models)
    folder = shutil.copytree(tiny_sd_path, tmp_path / "dropped-sd")
    pickled = tmp_path / "old-spade.pth"
    torch_save_spade(pickled)
    window.move_combo.setCurrentIndex(window.move_combo.findData(True))
    drop(window, [folder, pickled])
    wait_idle(qtbot, window)
    names = window.installed.visible_names()
    assert "dropped-sd" in names and "old-spade.safetensors" in names
    assert not folder.exists()  # same disk: moved by a rename
    assert not pickled.exists()  # converted, and the original went to the trash
    trash = tmp_path / "xdg-data" / "Trash" / "files"
    assert "old-spade.pth" in {p.name for p in trash.iterdir()}
    assert row(window, "old-spade.safetensors").text(1) == "SPADE · ade20k"
    assert row(window, "old-spade.safetensors").text(3) == "fp32"


def torch_save_spade(path):
    import torch

    from tests.engine.gan.reference_spade import RefGenerator

    torch.save(RefGenerator(151, ngf=2, hidden=4, crop=32).state_dict(), path)


def test_a_broken_file_gets_a_clear_message_and_nothing_is_added(qtbot, models, tmp_path):
    window = manager(qtbot, models)
    before = sorted(p.name for p in models.iterdir())
    (tmp_path / "half.safetensors").write_bytes(b"\xff\x00\x00\x00\x00\x00\x00\x00{")
    window.add_paths([str(tmp_path / "half.safetensors")])
    wait_idle(qtbot, window)
    assert "half.safetensors is not a readable .safetensors file" in (
        window.installed.status_label.text()
    )
    assert sorted(p.name for p in models.iterdir()) == before
    assert (tmp_path / "half.safetensors").exists()


def test_cancel_removes_the_partial_copy(qtbot, models, tmp_path, monkeypatch):
    import studio.engine.models.importing as importing

    monkeypatch.setattr(importing, "CHUNK", 1024)  # many small steps, so cancel lands mid-copy
    window = manager(qtbot, models)
    src = shutil.copytree(models / "tiny-sd", tmp_path / "big-sd")
    before = sorted(p.name for p in models.iterdir())
    window.importer.progress.connect(lambda _p: window.cancel_button.click())
    # the copying thread waits at its first progress report until Cancel has been pressed
    hold = window.importer._cancel.wait
    window.importer.progress.connect(lambda _p: hold(5.0), Qt.ConnectionType.DirectConnection)
    window.add_paths([str(src)])
    wait_idle(qtbot, window)
    assert "cancelled; nothing was added" in window.installed.status_label.text()
    assert sorted(p.name for p in models.iterdir()) == before and src.exists()


def test_adding_a_model_refreshes_the_generate_dock(make_window, qtbot, models, tmp_path):
    window = make_window()
    combo = window.prompt_panel.model_combo
    src = shutil.copytree(models / "tiny-sd", tmp_path / "another-sd")
    manager_window = window.open_model_manager()
    manager_window.add_paths([str(src)], move=False)
    wait_idle(qtbot, manager_window)
    target = str(models / "another-sd")
    assert any(combo.itemData(i) == target for i in range(combo.count()))
    manager_window.close()


def test_model_files_dropped_on_the_main_window_go_to_the_manager(
    make_window, qtbot, models, tmp_path
):
    window = make_window()
    src = lora(tmp_path / "dropped-lora.safetensors")
    drop(window, [src])
    qtbot.waitUntil(lambda: window.model_manager is not None and window.model_manager.isVisible())
    wait_idle(qtbot, window.model_manager)
    assert (models / "dropped-lora.safetensors").is_file()
    assert len(window.document.layers) == 1  # nothing was opened as an image
    assert any(m.path == str(models / "dropped-lora.safetensors") for m in window.session.extras)
    window.model_manager.close()


def test_keyboard_reaches_rescan_search_and_remove(qtbot, models, tmp_path):
    window = manager(qtbot, models)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    lora(models / "late-arrival.safetensors")  # put there behind the manager's back
    assert "late-arrival.safetensors" not in window.installed.visible_names()
    QTest.keyClick(window.installed.tree, Qt.Key.Key_F5)
    assert "late-arrival.safetensors" in window.installed.visible_names()
    QTest.keyClick(window.installed.tree, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.installed.search_edit.hasFocus()
    window.installed.select(str(models / "late-arrival.safetensors"))
    window.installed.tree.setFocus()
    seen: list[str] = []
    answer_next_box(qtbot, QMessageBox.StandardButton.Yes, seen)
    QTest.keyClick(window.installed.tree, Qt.Key.Key_Delete)
    assert seen and "late-arrival.safetensors" in seen[0]
    assert not (models / "late-arrival.safetensors").exists()


def test_the_manager_window_keeps_its_size(make_window, qtbot, models):
    first = make_window(settings_name="shared.ini")
    manager_window = first.open_model_manager()
    manager_window.resize(700, 450)
    manager_window.close()
    first.close()
    second = make_window(settings_name="shared.ini")
    assert second.open_model_manager().size().toTuple() == (700, 450)
    second.model_manager.close()


def test_starter_models_cannot_be_removed(qtbot, models, tmp_path):
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    spade(bundled / "starter-spade.safetensors")
    (bundled / "starter-spade.json").write_text('{"label_set": "landscape"}')
    places = {"Starter (bundled)": str(bundled), "User models": str(models)}
    window = ModelManager(places=places, importer=ModelImporter())
    qtbot.addWidget(window)
    tab = window.installed
    assert "starter-spade.safetensors" in tab.visible_names()
    assert row(window, "starter-spade.safetensors").text(1) == "Starter · SPADE · landscape"
    tab.select(str(bundled / "starter-spade.safetensors"))
    assert not tab.remove_button.isEnabled() and "cannot be removed" in tab.remove_button.toolTip()
    assert not tab.remove_current() and (bundled / "starter-spade.safetensors").exists()


def test_an_opened_folder_is_forgotten_not_trashed(make_window, qtbot, models, tmp_path):
    elsewhere = shutil.copytree(models / "tiny-sd", tmp_path / "my-projects" / "my-sd")
    window = make_window(models=elsewhere)
    manager_window = window.open_model_manager()
    tab = manager_window.installed
    assert row(manager_window, "my-sd").text(4) == "Opened folder"
    tab.select(str(elsewhere))
    assert tab.remove_button.text() == "Forget…"
    seen: list[str] = []
    answer_next_box(qtbot, QMessageBox.StandardButton.Yes, seen)
    assert tab.remove_current()
    assert "stays where it is" in seen[0] and elsewhere.is_dir()
    assert "my-sd" not in tab.visible_names()
    assert str(elsewhere) not in window.session.extra_model_paths
    assert all(m.path != str(elsewhere) for m in window.session.models)
    manager_window.close()


def test_convert_an_installed_pickle(qtbot, models, tmp_path):
    torch_save_spade(models / "old-gan.pth")
    window = manager(qtbot, models)
    tab = window.installed
    tab.select(str(models / "taesd.safetensors"))
    assert not tab.convert_button.isVisible()
    tab.select(str(models / "old-gan.pth"))
    assert tab.convert_button.isVisible()
    assert "Convert it to .safetensors" in tab.details.toPlainText()
    seen: list[str] = []
    answer_next_box(qtbot, QMessageBox.StandardButton.Yes, seen)
    tab.convert_button.click()
    wait_idle(qtbot, window)
    assert "old-gan.pth" in seen[0] and "weights-only" in seen[0]
    assert (models / "old-gan.safetensors").is_file() and not (models / "old-gan.pth").exists()
    assert "old-gan.pth" in {p.name for p in (tmp_path / "xdg-data" / "Trash" / "files").iterdir()}
    assert tab.current_entry().name == "old-gan.safetensors"
    assert row(window, "old-gan.safetensors").text(3) == "fp32"
    assert "The original went to the trash" in tab.status_label.text()


def test_an_import_goes_on_when_the_manager_is_closed(make_window, qtbot, models, tmp_path):
    window = make_window()
    manager_window = window.open_model_manager()
    gate = __import__("threading").Event()
    manager_window.importer.progress.connect(lambda _p: gate.wait(5.0),
                                             Qt.ConnectionType.DirectConnection)  # fmt: skip
    src = shutil.copytree(models / "tiny-sd", tmp_path / "late-sd")
    manager_window.add_paths([str(src)])
    qtbot.waitUntil(lambda: manager_window.progress_label.text().startswith("Copying"))
    manager_window.close()
    gate.set()
    qtbot.waitUntil(lambda: (models / "late-sd").is_dir() and not manager_window.importer.busy)
    combo = window.prompt_panel.model_combo
    qtbot.waitUntil(lambda: any(combo.itemData(i) == str(models / "late-sd")
                                for i in range(combo.count())))  # fmt: skip
    assert window.open_model_manager().installed.current_entry().name == "late-sd"
    window.model_manager.close()
