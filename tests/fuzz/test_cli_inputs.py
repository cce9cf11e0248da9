"""`studio generate` given hostile pictures for --init-image, --mask and --labels: exit 2 with
one `studio: error:` line, no traceback, before any model is loaded."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from studio.app.cli import main
from tests.fuzz.conftest import case, snapshot
from tests.fuzz.test_images import _claimed_png


def _hostile_pictures(folder) -> dict[str, object]:
    good = io.BytesIO()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(good, format="PNG")
    data = good.getvalue()
    gif = io.BytesIO()
    Image.new("L", (8, 8)).save(gif, format="GIF")
    blobs = {
        "cut": data[:70],
        "flipped": data[:40] + bytes(30) + data[70:],
        "random": os.urandom(500),
        "empty": b"",
        "144 MP": _claimed_png(12000, 12000),
        "bomb 2^31": _claimed_png(2**31 - 1, 2**31 - 1),
        "16385 wide": _claimed_png(16385, 8, 16),
        "gif": gif.getvalue(),
    }
    paths = {}
    for name, blob in blobs.items():
        paths[name] = folder / f"{name.replace(' ', '-')}.png"
        paths[name].write_bytes(blob)
    paths["a folder"] = folder
    paths["missing"] = folder / "missing.png"
    return paths


@pytest.mark.parametrize("flag", ["--init-image", "--mask", "--labels"])
def test_cli_refuses_hostile_pictures_in_one_line(tiny_sd_path, tmp_path, capsys, flag):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    picture = tmp_path / "picture.png"
    Image.new("RGB", (64, 64)).save(picture)
    out = tmp_path / "out" / "result.png"
    for label, path in _hostile_pictures(inputs).items():
        args = ["generate", "--model", str(tiny_sd_path), "--prompt", "a bay", "--steps", "1"]
        args += ["--out", str(out), flag, str(path)]
        if flag == "--mask":
            args += ["--init-image", str(picture)]
        before = snapshot(tmp_path)
        with case("CLI picture flags", f"{flag} {label}"):
            code = main(args)
        err = capsys.readouterr().err
        errors = [line for line in err.splitlines() if line.startswith("studio: error:")]
        assert code == 2 and len(errors) == 1, (label, err)
        assert "Traceback" not in err
        assert snapshot(tmp_path) == before, f"{label}: files changed"
