"""`studio data synth` writes a readable paired dataset and resumes where it stopped."""

from __future__ import annotations

import json

from studio.app.cli import main
from studio.training.dataset import PairedDataset
from studio.training.synth import render_scene


def test_writes_dataset_and_resumes(tmp_path, capsys):
    out = tmp_path / "ds"
    assert (
        main(["data", "synth", "--count", "3", "--out", str(out), "--size", "64", "--workers", "1"])
        == 0
    )
    ds = PairedDataset(out)
    assert ds.ids == ["000000", "000001", "000002"]
    pair = ds[1]
    img, lab, meta = render_scene(1, 64)
    assert (pair.image == img).all() and (pair.labels == lab).all()
    assert pair.meta == json.loads(json.dumps(meta))
    info = ds.info
    assert (info["count"], info["seed"], info["size"]) == (3, 0, 64)
    assert info["generator_version"] >= 1
    assert "ETA" in capsys.readouterr().err
    # Resume: a pair without its meta (interrupted) is made again, the others are kept.
    (out / "meta" / "000002.json").unlink()
    stamp = (out / "images" / "000000.png").stat().st_mtime_ns
    assert (
        main(["data", "synth", "--count", "5", "--out", str(out), "--size", "64", "--workers", "2"])
        == 0
    )
    err = capsys.readouterr().err
    assert "2 of 5 scenes already" in err
    assert (out / "images" / "000000.png").stat().st_mtime_ns == stamp
    ds = PairedDataset(out)
    assert len(ds) == 5 and ds.info["count"] == 5
    assert (ds[4].labels == render_scene(4, 64)[1]).all()


def test_other_settings_in_same_folder_refused(tmp_path, capsys):
    out = tmp_path / "ds"
    assert (
        main(
            [
                "data",
                "synth",
                "--count",
                "1",
                "--out",
                str(out),
                "--size",
                "64",
                "--workers",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    assert (
        main(["data", "synth", "--count", "1", "--out", str(out), "--size", "96", "--workers", "1"])
        == 2
    )
    assert "other settings (size)" in capsys.readouterr().err


def test_stats_table_and_contact_sheet(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    out = tmp_path / "ds"
    assert (
        main(
            [
                "data",
                "synth",
                "--count",
                "4",
                "--out",
                str(out),
                "--size",
                "64",
                "--workers",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    sheet = tmp_path / "sheet.png"
    assert main(["data", "stats", str(out), "--sheet", str(sheet), "--sheet-count", "3"]) == 0
    table = capsys.readouterr().out
    ds = PairedDataset(out)
    labels = np.concatenate([p.labels.ravel() for p in ds])
    sky = 100 * (labels == 1).mean()
    row = next(line for line in table.splitlines() if " sky " in line)
    assert abs(float(row.split()[2]) - sky) < 0.01
    with Image.open(sheet) as im:
        assert im.size == (8 * 128, 2 * 128)
    assert main(["data", "stats", str(tmp_path / "missing")]) == 2
