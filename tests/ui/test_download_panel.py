"""The Download tab driven through its buttons against the local fake hub (real HTTP)."""

from __future__ import annotations

import pytest

from studio.engine.hub import download as hub
from studio.session.downloads import DownloadManager
from studio.ui.models.download_panel import DownloadPanel
from tests.engine.hub.test_hub import BIG, LOCAL, REPO, WEIGHTS, _files
from tests.fakehub import FakeHub

TAESD = {
    "config.json": b'{"_class_name": "AutoencoderTiny"}',
    "README.md": b"---\nlicense: mit\n---",
}
TAESD["diffusion_pytorch_model.safetensors"] = b"\0" * 300_000


@pytest.fixture
def fake():
    with FakeHub() as server:
        server.add_repo(REPO, _files())
        server.add_repo("madebyollin/taesd", TAESD)
        yield server


@pytest.fixture
def panel(qtbot, fake, tmp_path):
    downloads = DownloadManager(endpoint=fake.endpoint)
    widget = DownloadPanel(downloads, tmp_path / "models")
    qtbot.addWidget(widget)
    yield widget
    downloads.cancel()
    assert downloads.wait(10)


def test_recommended_row_downloads_with_progress_and_shows_installed(qtbot, panel, tmp_path):
    panel.select("taesd")
    assert "MIT" in panel.about_label.text()
    row = next(i for i, r in enumerate(panel.recommended) if r.id == "taesd")
    assert panel.table.topLevelItem(row).text(3) == ""
    with qtbot.waitSignal(panel.installed, timeout=20000) as done:
        panel.download_button.click()
    assert done.args == [str(tmp_path / "models" / "madebyollin--taesd")]
    assert panel.table.topLevelItem(row).text(3) == "Installed"
    assert panel.bar.isHidden() and "Installed TAESD" in panel.status_label.text()
    assert (tmp_path / "models/madebyollin--taesd/diffusion_pytorch_model.safetensors").is_file()


def test_any_repo_id_shows_speed_and_eta_then_pause_resume(qtbot, panel, fake):
    # Slow enough (about 8 s for the weights) that a loaded 2-core machine pauses mid-file.
    fake.faults.bytes_per_second = 150_000
    panel.repo_edit.setText(REPO)
    panel.repo_button.click()
    qtbot.waitUntil(lambda: " of " in panel.progress_label.text(), timeout=10000)
    qtbot.waitUntil(lambda: "/s · about" in panel.progress_label.text(), timeout=10000)
    qtbot.waitUntil(lambda: bool(fake.requests("GET", WEIGHTS)), timeout=10000)  # in the big file
    assert panel.bar.maximum() == hub.plan_download(REPO, endpoint=fake.endpoint).total_bytes
    assert WEIGHTS in panel.title_label.toolTip()  # the file manifest, on demand
    panel.pause_button.click()
    qtbot.waitUntil(lambda: panel.progress_label.text().startswith("Paused"), timeout=10000)
    assert panel.pause_button.text() == "Resume"
    assert 0 < panel.bar.value() < panel.bar.maximum()  # paused part-way
    fake.faults.bytes_per_second = 0
    with qtbot.waitSignal(panel.installed, timeout=20000):
        panel.pause_button.click()
    assert (panel.models_dir / "acme--tiny-model" / LOCAL).read_bytes() == _files()[WEIGHTS]
    assert fake.requests("GET", WEIGHTS)[-1].range  # resumed with a Range request


def test_cancel_removes_the_partial_download(qtbot, panel, fake):
    fake.faults.bytes_per_second = 300_000
    panel.repo_edit.setText(REPO)
    panel.repo_button.click()
    qtbot.waitUntil(lambda: panel.bar.value() > 0, timeout=10000)
    with qtbot.waitSignal(panel.downloads.cancelled, timeout=10000):
        panel.cancel_button.click()
    assert "partial download was deleted" in panel.status_label.text()
    assert not (panel.models_dir / "acme--tiny-model").exists()
    assert not hub.staging_dir(panel.models_dir, "acme--tiny-model").exists()


def test_a_damaged_file_is_shown_in_plain_words_with_details_and_retry_works(qtbot, panel, fake):
    fake.faults.corrupt.add(WEIGHTS)
    panel.repo_edit.setText(REPO)
    with qtbot.waitSignal(panel.downloads.failed, timeout=20000):
        panel.repo_button.click()
    assert not panel.banner.isHidden() and "arrived damaged" in panel.banner.message_label.text()
    assert "sha256: expected" in panel.banner.details_view.toPlainText()
    assert panel.banner.details_view.isHidden()  # details on demand
    panel.banner.details_button.click()
    assert not panel.banner.details_view.isHidden()
    assert not (panel.models_dir / "acme--tiny-model").exists()
    assert panel.pause_button.text() == "Retry"
    fake.faults.corrupt.clear()
    with qtbot.waitSignal(panel.installed, timeout=20000):
        panel.pause_button.click()
    assert panel.banner.isHidden()


def test_full_disk_is_refused_before_downloading(qtbot, fake, tmp_path):
    downloads = DownloadManager(endpoint=fake.endpoint, free_space=lambda p: BIG // 2)
    panel = DownloadPanel(downloads, tmp_path / "models")
    qtbot.addWidget(panel)
    panel.repo_edit.setText(REPO)
    with qtbot.waitSignal(downloads.failed, timeout=20000):
        panel.repo_button.click()
    assert panel.banner.message_label.text().startswith("Not enough free disk space")
    assert downloads.wait(5)


def test_a_bad_repo_id_is_explained(qtbot, panel):
    panel.repo_edit.setText("not a repo")
    assert not panel.repo_button.click() and "owner/name" in panel.status_label.text()
    panel.repo_edit.setText("acme/missing")
    with qtbot.waitSignal(panel.downloads.failed, timeout=20000):
        panel.repo_button.click()
    assert "no model called acme/missing" in panel.banner.message_label.text()


def test_the_manager_has_a_download_tab_and_lists_what_it_installs(qtbot, fake, tmp_path):
    from studio.session.model_import import ModelImporter
    from studio.ui.models.manager import ModelManager

    models = tmp_path / "models"
    models.mkdir()
    downloads = DownloadManager(endpoint=fake.endpoint)
    panel = DownloadPanel(downloads, models)
    places = {"User models": str(models)}
    window = ModelManager(
        downloads=panel, places=places, models_dir=models, importer=ModelImporter()
    )
    qtbot.addWidget(window)
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Installed", "Download"]
    assert window.installed.tree.topLevelItemCount() == 0
    panel.select("taesd")
    with qtbot.waitSignal(window.models_changed, timeout=20000):
        panel.download_button.click()
    entry = window.installed.current_entry()
    assert entry is not None and entry.info.path == str(models / "madebyollin--taesd")
    assert entry.licence == "mit"  # read from the downloaded model card
    assert window.shutdown(5)
