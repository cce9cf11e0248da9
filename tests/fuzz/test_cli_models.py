"""The CLI with a broken model of every class: `models list` lists each as broken with its
reason beside the good one; `models add` and `generate --model` refuse each in one line."""

from __future__ import annotations

import shutil

from studio.app.cli import main
from tests.fuzz.conftest import case, snapshot
from tests.fuzz.hostile_models import write_hostile_models


def _one_error(capsys) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("studio: error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


def test_cli_lists_and_refuses_every_broken_model(tiny_sd_path, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path / "home"))
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(tiny_sd_path, models / "tiny-sd")
    broken = write_hostile_models(models)
    with case("CLI model commands", "models list"):
        assert main(["models", "list", str(models)]) == 0
    lines = {line.split("\t")[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines["tiny-sd"].endswith("ok")
    for name in broken:
        assert name in lines and not lines[name].endswith("\tok"), lines.get(name)
    dest = tmp_path / "dest"
    for name in broken:
        before = snapshot(tmp_path)
        with case("CLI model commands", f"models add {name}"):
            code = main(["models", "add", str(models / name), "--to", str(dest)])
        assert code == 2 and name.split(".")[0] in _one_error(capsys)
        assert snapshot(tmp_path) == before  # nothing half-copied
        with case("CLI model commands", f"generate --model {name}"):
            code = main(["generate", "--model", str(models / name), "--prompt", "a bay",
                         "--out", str(tmp_path / "out.png")])  # fmt: skip
        assert code == 2
        _one_error(capsys)
