"""Hub downloads against the local fake hub: success, resume, corruption, cancel, full disk."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from studio.engine.hub import download as hub
from studio.errors import Cancelled
from tests.fakehub import FakeHub

REPO = "acme/tiny-model"
WEIGHTS = "unet/diffusion_pytorch_model.fp16.safetensors"  # an LFS file, via the CDN origin
LOCAL = "unet/diffusion_pytorch_model.safetensors"  # installed without the variant in its name
BIG = 1_200_000  # bytes: several 256 KiB chunks, so a drop leaves a partial file


def _files() -> dict[str, bytes]:
    rng = hashlib.sha256(b"seed")
    blob = b"".join(rng.digest() + i.to_bytes(4, "little") for i in range(BIG // 36 + 1))[:BIG]
    return {
        "model_index.json": b'{"_class_name": "StableDiffusionPipeline"}',
        "unet/config.json": b'{"sample_size": 8}',
        WEIGHTS: blob,
        "unet/diffusion_pytorch_model.safetensors": b"fp32 weights we do not want" * 10,
    }


@pytest.fixture
def fake():
    with FakeHub() as server:
        server.add_repo(REPO, _files())
        yield server


def _plan(fake: FakeHub, **kw) -> hub.DownloadPlan:
    kw.setdefault("allow_patterns", ["*.json", "*.safetensors"])
    return hub.plan_download(REPO, endpoint=fake.endpoint, **kw)


def _assert_nothing_installed(models: Path) -> None:
    assert not (models / hub.folder_name(REPO)).exists()


def test_plan_lists_sizes_and_checksums_from_the_api(fake):
    plan = _plan(fake)
    by_path = {f.path: f for f in plan.files}
    assert set(by_path) == {"model_index.json", "unet/config.json", WEIGHTS}
    assert by_path[WEIGHTS].size == BIG
    assert by_path[WEIGHTS].sha256 == hashlib.sha256(_files()[WEIGHTS]).hexdigest()
    assert by_path["unet/config.json"].sha256 is None and by_path["unet/config.json"].blob_id
    assert plan.total_bytes == sum(len(_files()[p]) for p in by_path)
    assert plan.commit == fake.repos[REPO][0]


def test_plan_reads_hf_endpoint_and_names_missing_repos(fake, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
    assert hub.plan_download(REPO, filename="unet/config.json").endpoint == fake.endpoint
    with pytest.raises(hub.DownloadError, match="no model called acme/nope"):
        hub.plan_download("acme/nope")
    with pytest.raises(hub.DownloadError, match="no file called missing.bin"):
        hub.plan_download(REPO, filename="missing.bin")


def test_success_installs_verified_files_with_progress(fake, tmp_path):
    reports: list[hub.DownloadProgress] = []
    target = hub.download(_plan(fake), tmp_path, on_progress=reports.append)
    assert target == tmp_path / "acme--tiny-model"
    for path in ("model_index.json", "unet/config.json"):
        assert (target / path).read_bytes() == _files()[path]
    # fp16 was preferred over the fp32 file and installed under the plain name the loader reads
    assert (target / LOCAL).read_bytes() == _files()[WEIGHTS]
    assert sorted(p.name for p in (target / "unet").iterdir()) == ["config.json", Path(LOCAL).name]
    assert json.loads((target / hub.SOURCE_FILE).read_text())["repo_id"] == REPO
    assert not (tmp_path / hub.STAGING / "acme--tiny-model").exists()
    assert reports[-1].state == "installing" and reports[-1].done == reports[-1].total
    dones = [r.done for r in reports]
    assert dones == sorted(dones) and reports[-1].total == _plan(fake).total_bytes
    # The weights came from the CDN origin, after a HEAD on the hub that redirected there.
    assert fake.requests("GET", WEIGHTS)[0].origin == "cdn"
    assert any(r.status == 302 for r in fake.requests("HEAD", WEIGHTS))


def test_dropped_connection_resumes_from_the_partial_byte_count(fake, tmp_path):
    fake.faults.drop_after[WEIGHTS] = 700_000
    fake.faults.drops_left[WEIGHTS] = 1
    target = hub.download(_plan(fake), tmp_path)
    assert (target / LOCAL).read_bytes() == _files()[WEIGHTS]
    gets = fake.requests("GET", WEIGHTS)
    assert len(gets) == 2 and gets[0].range is None
    # Two whole 256 KiB chunks were on disk when the connection dropped at 700,000 bytes.
    assert gets[1].range == f"bytes={2 * hub.CHUNK_BYTES}-" and gets[1].status == 206


def test_partial_file_survives_a_killed_process_and_continues(fake, tmp_path):
    fake.faults.bytes_per_second = 400_000
    plan = _plan(fake)
    code = (
        "import sys; from pathlib import Path; from studio.engine.hub import download as hub;"
        f"plan = hub.plan_download({REPO!r}, endpoint={fake.endpoint!r},"
        " allow_patterns=['*.json', '*.safetensors']);"
        f"hub.download(plan, Path({str(tmp_path)!r}))"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    child = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=Path(__file__).parents[3])
    part = hub.staging_dir(tmp_path, plan.name) / "files" / (LOCAL + ".part")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (part.exists() and part.stat().st_size > 0):
        time.sleep(0.02)
    child.kill()
    child.wait(timeout=10)
    kept = part.stat().st_size
    assert 0 < kept < BIG
    _assert_nothing_installed(tmp_path)
    fake.faults.bytes_per_second = 0
    target = hub.download(plan, tmp_path)
    assert (target / LOCAL).read_bytes() == _files()[WEIGHTS]
    assert fake.requests("GET", WEIGHTS)[-1].range == f"bytes={kept}-"


def test_corrupted_file_fails_the_checksum_and_installs_nothing(fake, tmp_path):
    fake.faults.corrupt.add(WEIGHTS)
    with pytest.raises(hub.ChecksumError, match="arrived damaged") as info:
        hub.download(_plan(fake), tmp_path)
    assert "expected " + hashlib.sha256(_files()[WEIGHTS]).hexdigest() in info.value.details
    _assert_nothing_installed(tmp_path)
    staged = hub.staging_dir(tmp_path, "acme--tiny-model") / "files"
    assert not (staged / (LOCAL + ".part")).exists()  # the damaged bytes are not resumed
    fake.faults.corrupt.clear()  # the next try fetches only the damaged file again
    plan = _plan(fake)
    before = len(fake.requests("GET"))
    target = hub.download(plan, tmp_path)
    assert (target / LOCAL).read_bytes() == _files()[WEIGHTS]
    again = fake.requests("GET")[before:]
    assert again and all(WEIGHTS in r.path for r in again)  # the verified files are kept


def test_corrupted_small_file_is_caught_by_its_git_blob_id(fake, tmp_path):
    fake.faults.corrupt.add("unet/config.json")
    with pytest.raises(hub.ChecksumError, match="unet/config.json"):
        hub.download(_plan(fake), tmp_path)
    _assert_nothing_installed(tmp_path)


def test_cancel_removes_the_staging_folder(fake, tmp_path):
    fake.faults.bytes_per_second = 1_000_000
    control = hub.DownloadControl()

    def cancel_midway(p: hub.DownloadProgress) -> None:
        if p.file == WEIGHTS and p.done > 300_000:
            control.cancel()

    with pytest.raises(Cancelled):
        hub.download(_plan(fake), tmp_path, on_progress=cancel_midway, control=control)
    _assert_nothing_installed(tmp_path)
    assert not hub.staging_dir(tmp_path, "acme--tiny-model").exists()


def test_not_enough_space_is_refused_before_any_download(fake, tmp_path):
    with pytest.raises(hub.DiskSpaceError) as info:
        hub.download(_plan(fake), tmp_path, free_space=lambda p: 10 * 2**20)
    assert "needs 65 MB" in info.value.message and "10 MB free" in info.value.message
    assert [r.path for r in fake.log if not r.path.startswith("/api/")] == []  # no file asked
    _assert_nothing_installed(tmp_path)


def test_disk_full_while_writing_is_a_clear_error_and_resumable(fake, tmp_path):
    calls = {"n": 0}

    class FullDisk:
        def __init__(self, path: Path) -> None:
            self.raw = hub.open_part(path)
            self.name = str(path)

        def write(self, data: bytes) -> int:
            calls["n"] += 1
            if calls["n"] == 4:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.raw.write(data)

        def __getattr__(self, name):
            return getattr(self.raw, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.raw.close()

    with pytest.raises(hub.DiskSpaceError, match="disk is full"):
        hub.download(_plan(fake), tmp_path, open_file=FullDisk)
    _assert_nothing_installed(tmp_path)
    target = hub.download(_plan(fake), tmp_path)  # space freed: it continues
    assert (target / LOCAL).read_bytes() == _files()[WEIGHTS]
    assert fake.requests("GET", WEIGHTS)[-1].range is not None


def test_pause_closes_the_connection_and_resume_continues_with_a_range(fake, tmp_path):
    fake.faults.bytes_per_second = 600_000
    control = hub.DownloadControl()
    states: list[str] = []

    def pause_once(p: hub.DownloadProgress) -> None:
        states.append(p.state)
        if p.file == WEIGHTS and p.done > 400_000 and "paused" not in states:
            control.pause()

    result: dict = {}
    thread = threading.Thread(
        target=lambda: result.setdefault(
            "path", hub.download(_plan(fake), tmp_path, on_progress=pause_once, control=control)
        )
    )
    thread.start()
    deadline = time.monotonic() + 10
    while "paused" not in states and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "paused" in states
    time.sleep(0.3)
    assert len(fake.requests("GET", WEIGHTS)) == 1  # nothing fetched while paused
    fake.faults.bytes_per_second = 0
    control.resume()
    thread.join(timeout=20)
    assert (result["path"] / LOCAL).read_bytes() == _files()[WEIGHTS]
    gets = fake.requests("GET", WEIGHTS)
    assert len(gets) == 2 and gets[1].range and gets[1].range.startswith("bytes=")


def test_network_stays_off_outside_downloads(fake):
    from huggingface_hub import HfApi, errors

    hub.plan_download(REPO, endpoint=fake.endpoint)  # installs the per-thread permission
    with pytest.raises(errors.OfflineModeIsEnabled):
        HfApi(endpoint=fake.endpoint).model_info(REPO)


def test_prefer_variant_keeps_one_precision_per_weight_file():
    paths = [
        "unet/diffusion_pytorch_model.safetensors",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "unet/diffusion_pytorch_model.non_ema.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
        "text_encoder/model.fp16.safetensors",
        "unet/config.json",
    ]
    assert hub.prefer_variant(paths, "fp16") == [
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
        "text_encoder/model.fp16.safetensors",
        "unet/config.json",
    ]


def test_a_single_weights_repo_installs_as_a_file_with_its_card(fake, tmp_path):
    fake.add_repo(
        "acme/lora", {"README.md": b"---\nlicense: mit\n---\n", "w.safetensors": b"x" * 999}
    )
    plan = hub.plan_download("acme/lora", endpoint=fake.endpoint)
    assert plan.layout == "file" and plan.name == "acme--lora.safetensors"
    path = hub.download(plan, tmp_path)
    assert path == tmp_path / "acme--lora.safetensors" and path.read_bytes() == b"x" * 999
    assert (tmp_path / "acme--lora.md").read_text().startswith("---")
    with pytest.raises(hub.DownloadError, match="already installed"):
        hub.download(plan, tmp_path)


def test_a_downloaded_pipeline_is_recognised_by_the_registry(fake, tmp_path, tiny_sd_path):
    from studio.engine.models.registry import scan

    files = {
        str(p.relative_to(tiny_sd_path)): p.read_bytes()
        for p in tiny_sd_path.rglob("*")
        if p.is_file()
    }
    fake.add_repo("acme/tiny-sd", files)
    plan = hub.plan_download("acme/tiny-sd", endpoint=fake.endpoint)
    assert plan.layout == "folder"
    hub.download(plan, tmp_path / "models")
    found = scan([tmp_path / "models"], kinds=None)
    assert [(m.name, m.kind, m.usable) for m in found] == [("acme--tiny-sd", "sd-pipeline", True)]


def test_recommended_list_is_complete_and_its_patterns_pick_one_diffusers_layout(fake):
    entries = {e.id: e for e in hub.load_recommended()}
    assert {"sd-turbo", "sd15", "sd15-inpaint", "sdxl-base", "sdxl-turbo"} <= set(entries)
    assert {"controlnet-sd15-seg", "taesd", "taesdxl", "lcm-lora-sd15", "lcm-lora-sdxl"} <= set(
        entries
    )
    for e in entries.values():
        assert "/" in e.repo_id and e.approx_bytes > 0 and e.licence and e.licence_note
    # A listing shaped like the SD 1.5 repo: root checkpoints, .bin twins, non-EMA and fp32 copies.
    names = ["v1-5-pruned-emaonly.safetensors", "v1-5-pruned.ckpt", "model_index.json"]
    names += ["safety_checker/config.json", "safety_checker/model.fp16.safetensors"]
    names += ["feature_extractor/preprocessor_config.json", "scheduler/scheduler_config.json"]
    names += ["tokenizer/vocab.json", "tokenizer/merges.txt", "text_encoder/config.json"]
    names += ["text_encoder/model.safetensors", "text_encoder/model.fp16.safetensors"]
    for part in ("unet", "vae"):
        names += [f"{part}/config.json", f"{part}/diffusion_pytorch_model.bin"]
        names += [f"{part}/diffusion_pytorch_model{v}.safetensors" for v in ("", ".fp16")]
    names += ["unet/diffusion_pytorch_model.non_ema.safetensors"]
    fake.add_repo("sd/like-15", {n: n.encode() for n in names})
    sd15 = entries["sd15"]
    plan = hub.plan_download(
        "sd/like-15", allow_patterns=sd15.patterns, endpoint=fake.endpoint, variant=sd15.variant
    )
    assert sorted(f.path for f in plan.files) == sorted(
        [
            "model_index.json",
            "safety_checker/config.json",
            "feature_extractor/preprocessor_config.json",
            "scheduler/scheduler_config.json",
            "tokenizer/vocab.json",
            "tokenizer/merges.txt",
            "text_encoder/config.json",
            "text_encoder/model.fp16.safetensors",
            "unet/config.json",
            "unet/diffusion_pytorch_model.fp16.safetensors",
            "vae/config.json",
            "vae/diffusion_pytorch_model.fp16.safetensors",
        ]
    )
    assert "unet/diffusion_pytorch_model.safetensors" in {f.local for f in plan.files}


def test_unsafe_paths_in_a_listing_are_refused(fake):
    fake.add_repo("acme/evil", {"../../outside.json": b"{}", "config.json": b"{}"})
    with pytest.raises(hub.DownloadError, match="unsafe path"):
        hub.plan_download("acme/evil", endpoint=fake.endpoint)


def test_an_oversized_partial_file_is_started_again(fake, tmp_path):
    from studio.engine.hub.download import _prepare_staging

    plan = _plan(fake)
    staged = _prepare_staging(hub.staging_dir(tmp_path, plan.name), plan) / "files"
    (staged / LOCAL).parent.mkdir(parents=True)
    (staged / (LOCAL + ".part")).write_bytes(b"z" * (BIG + 10))  # longer than the file
    target = hub.download(plan, tmp_path)
    assert (target / LOCAL).read_bytes() == _files()[WEIGHTS]
    assert fake.requests("GET", WEIGHTS)[-1].range is None  # fetched from the start


def test_an_unreachable_hub_is_said_plainly():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(hub.DownloadError, match="Could not reach http://127.0.0.1") as info:
        hub.plan_download(REPO, endpoint=f"http://127.0.0.1:{port}")
    assert "ConnectError" in info.value.details


def test_the_studio_command_is_offline_except_for_downloads(fake, tmp_path):
    code = (
        "import os; os.environ.pop('HF_HUB_OFFLINE', None);"
        "from studio.app.cli import main; from huggingface_hub import HfApi, constants;"
        "main(['models', 'download', '--list']);"
        "print('offline', constants.is_offline_mode());"
        "from studio.engine.hub import download as hub;"
        f"hub.plan_download({REPO!r}, endpoint={fake.endpoint!r});"
        "print('planned');"
        f"HfApi(endpoint={fake.endpoint!r}).model_info({REPO!r})"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_OFFLINE")}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=Path(__file__).parents[3], timeout=60)  # fmt: skip
    assert "offline True" in run.stdout and "planned" in run.stdout
    assert "OfflineModeIsEnabled" in run.stderr  # a plain hub call outside a download


def test_a_second_download_of_the_same_model_is_refused_while_one_runs(fake, tmp_path):
    fake.faults.bytes_per_second = 600_000
    plan = _plan(fake)
    control = hub.DownloadControl()
    started = threading.Event()
    first = threading.Thread(
        target=lambda: pytest.raises(
            Cancelled,
            hub.download,
            plan,
            tmp_path,
            control=control,
            on_progress=lambda p: started.set(),
        )
    )
    first.start()
    assert started.wait(10)
    with pytest.raises(hub.DownloadError, match="already being downloaded"):
        hub.download(plan, tmp_path)
    control.cancel()
    first.join(10)
    assert not first.is_alive()
    assert not hub.staging_dir(tmp_path, plan.name).exists()


def test_a_connection_that_keeps_dropping_fails_plainly_and_the_next_try_continues(
    fake, tmp_path, monkeypatch
):
    from types import SimpleNamespace

    from huggingface_hub import file_download

    # huggingface_hub retries a dropped transfer 5 times, 1 s apart; skip the waiting
    monkeypatch.setattr(file_download, "time", SimpleNamespace(sleep=lambda s: None))
    # One whole chunk arrives, then every reconnect drops before another chunk completes.
    fake.faults.drop_plan[WEIGHTS] = [300_000] + [100_000] * 6
    with pytest.raises(hub.DownloadError, match="network problem") as info:
        hub.download(_plan(fake), tmp_path)
    assert "RemoteProtocolError" in info.value.details
    assert len(fake.requests("GET", WEIGHTS)) == 6  # the first try + 5 retries
    _assert_nothing_installed(tmp_path)
    part = hub.staging_dir(tmp_path, "acme--tiny-model") / "files" / (LOCAL + ".part")
    kept = part.stat().st_size
    assert kept == hub.CHUNK_BYTES  # only whole chunks are written
    fake.faults.drop_plan.clear()
    target = hub.download(_plan(fake), tmp_path)
    assert (target / LOCAL).read_bytes() == _files()[WEIGHTS]
    assert fake.requests("GET", WEIGHTS)[-1].range == f"bytes={kept}-"
