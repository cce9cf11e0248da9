"""Exporting a recorded run: GIF, WebP, PNG sequence and MP4 frame counts, sizes and errors."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.engine.requests import RunRecord, StepFrame
from studio.errors import Cancelled
from studio.io.run_export import ExportError, export_run
from studio.io.run_views import view_image


def make_record(steps: int = 5, width: int = 40, height: int = 24, full: int | None = None):
    """A run whose x0 brightens step by step (8x5 latent previews, 4x3 thumbnails)."""
    frames = []
    for i in range(steps):
        x0 = np.zeros((3, 5, 3), np.uint8) + np.uint8(40 * i)
        x0[:, :, 1] = 200 - 30 * i
        keep = full is None or i >= steps - full
        frames.append(
            StepFrame(
                step=i + 1,
                timestep=900.0 - 100 * i,
                sigma=10.0 / (i + 1),
                sigma_next=10.0 / (i + 2),
                seconds=0.1,
                change=float(i),
                thumb_xt=x0[:2, :3],
                thumb_x0=x0[:2, :3],
                xt=(255 - x0) if keep else None,
                x0=x0 if keep else None,
                noise=np.full_like(x0, 60 + i) if keep else None,
                x0_latent=np.zeros((4, 3, 5), np.float16) if keep else None,
            )
        )
    return RunRecord(tuple(frames), steps, width, height, "Euler")


def test_gif_has_one_frame_per_step_at_the_output_size(tmp_path):
    out = export_run(make_record(5), tmp_path / "run.gif", fps=10)
    with Image.open(out) as image:
        assert image.format == "GIF" and image.n_frames == 5 and image.size == (40, 24)
        assert image.info["duration"] == 100 and image.info["loop"] == 0


def test_webp_has_one_frame_per_step(tmp_path):
    out = export_run(make_record(4), tmp_path / "run.webp", view="xt", max_side=20)
    with Image.open(out) as image:
        assert image.format == "WEBP" and image.n_frames == 4 and image.size == (20, 12)
        image.seek(3)
        first = np.asarray(image.convert("RGB"))
    assert first[6, 10, 1] == 255 - (200 - 90)  # x_t of the last step, lossless


def test_png_sequence_is_a_folder_of_steps(tmp_path):
    out = export_run(make_record(3), tmp_path / "steps", view="noise")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["step-0001.png", "step-0002.png", "step-0003.png"]
    with Image.open(out / "step-0002.png") as image:
        assert image.size == (40, 24) and np.asarray(image)[0, 0, 0] == 61


def test_dropped_frames_export_from_their_thumbnails(tmp_path):
    record = make_record(6, full=2)
    assert [f.has_full for f in record.frames] == [False] * 4 + [True] * 2
    out = export_run(record, tmp_path / "run.gif")
    with Image.open(out) as image:
        assert image.n_frames == 6 and image.size == (40, 24)


def test_views_delta_and_noise():
    record = make_record(3)
    assert not view_image(record, 0, "delta").any()
    delta = view_image(record, 1, "delta")
    assert delta[0, 0, 0] == 40 * 4 and delta[0, 0, 1] == 30 * 4
    with pytest.raises(ValueError, match="view must be one of"):
        view_image(record, 0, "sideways")


def test_progress_and_cancel(tmp_path):
    seen = []
    export_run(make_record(4), tmp_path / "a.gif", progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        export_run(make_record(4), tmp_path / "b.gif", cancel=cancel)
    assert not (tmp_path / "b.gif").exists()


def test_bad_suffix_and_empty_run_are_refused(tmp_path):
    with pytest.raises(ExportError, match="'.avi'"):
        export_run(make_record(2), tmp_path / "run.avi")
    with pytest.raises(ExportError, match="no recorded steps"):
        export_run(RunRecord((), 0, 8, 8), tmp_path / "run.gif")


def test_mp4_without_ffmpeg_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ExportError, match="needs the ffmpeg program"):
        export_run(make_record(2), tmp_path / "run.mp4")


def fake_ffmpeg(folder: Path) -> Path:
    """An `ffmpeg` on PATH that stores its arguments and the raw video it is fed."""
    folder.mkdir()
    script = folder / "ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{folder}/args"\n'
        f'cat > "{folder}/stdin"\n'
        'for last; do :; done\necho mp4 > "$last"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def test_mp4_pipes_every_frame_at_an_even_size_to_ffmpeg(tmp_path, monkeypatch):
    bin_dir = fake_ffmpeg(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = export_run(make_record(5, width=41, height=23), tmp_path / "run.mp4", fps=12)
    assert out.read_text().strip() == "mp4"
    args = (bin_dir / "args").read_text().split()
    assert args[args.index("-s") + 1] == "42x24" and args[args.index("-r") + 1] == "12"
    assert len((bin_dir / "stdin").read_bytes()) == 5 * 42 * 24 * 3


def test_mp4_with_the_real_ffmpeg_has_every_frame():
    """CI installs ffmpeg (STUDIO_REQUIRE_FFMPEG=1), so there this fails rather than skips."""
    import json
    import shutil
    import subprocess

    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        if os.environ.get("STUDIO_REQUIRE_FFMPEG"):
            pytest.fail("ffmpeg/ffprobe not found (Debian: apt-get install ffmpeg)")
        pytest.skip("ffmpeg is not installed")
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        out = export_run(make_record(7, width=41, height=23), Path(folder) / "run.mp4", fps=10)
        probe = subprocess.run(
            [
                "ffprobe",
                "-v",
                "error",
                "-count_frames",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=width,height,nb_read_frames,codec_name",
                "-of",
                "json",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    stream = json.loads(probe.stdout)["streams"][0]
    assert (stream["width"], stream["height"]) == (42, 24)  # even sizes for yuv420p
    assert int(stream["nb_read_frames"]) == 7
