"""`studio models download` against the local fake hub (HF_ENDPOINT), in a real subprocess."""

from __future__ import annotations

import pytest

from tests.app.test_cli import studio
from tests.engine.hub.test_hub import LOCAL, REPO, WEIGHTS, _files
from tests.fakehub import FakeHub


@pytest.fixture
def fake(monkeypatch):
    with FakeHub() as server:
        server.add_repo(REPO, _files())
        monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
        yield server


def test_download_shows_progress_and_installs(fake, tmp_path):
    done = studio(
        "models",
        "download",
        REPO,
        "--include",
        "*.json",
        "--include",
        "*.safetensors",
        "--to",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert f"installed {tmp_path / 'acme--tiny-model'}" in done.stdout
    assert "3 files, 1.1 MB" in done.stderr  # fp16 preferred: the fp32 twin is left out
    assert "of 1.1 MB (" in done.stderr  # the progress line
    assert (tmp_path / "acme--tiny-model" / LOCAL).read_bytes() == _files()[WEIGHTS]


def test_download_one_file(fake, tmp_path):
    done = studio("models", "download", REPO, "--file", "unet/config.json", "--to", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "config.json").read_bytes() == _files()["unet/config.json"]


def test_a_damaged_download_is_refused_plainly(fake, tmp_path):
    fake.faults.corrupt.add(WEIGHTS)
    done = studio("models", "download", REPO, "--to", str(tmp_path), "--quiet")
    assert done.returncode == 2
    assert "arrived damaged" in done.stderr and "details: sha256: expected" in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == [".downloads"]


def test_list_shows_the_recommended_models():
    done = studio("models", "download", "--list")
    assert done.returncode == 0
    assert "sd-turbo\tstabilityai/sd-turbo\t~2.4 GB" in done.stdout


def test_dry_run_prints_the_manifest_and_downloads_nothing(fake, tmp_path):
    done = studio("models", "download", REPO, "--dry-run", "--to", str(tmp_path))
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    weights = next(r for r in rows if r[3].endswith(LOCAL))
    assert weights[0] == str(len(_files()[WEIGHTS])) and weights[1].startswith("sha256 ")
    assert weights[2] == f"{fake.endpoint}/{REPO}/resolve/{fake.repos[REPO][0]}/{WEIGHTS}"
    assert list(tmp_path.iterdir()) == [] and fake.requests("GET", WEIGHTS) == []
