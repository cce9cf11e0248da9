"""Adding models from disk: recognised, copied or moved, pickles converted, nothing half-done."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from studio.engine.models.checkpoints import read_safetensors_header
from studio.engine.models.importing import install, plan_import, safetensors_name
from studio.engine.models.registry import inspect_folder
from studio.errors import Cancelled, ModelLoadError
from tests.engine.gan.reference_spade import RefGenerator
from tests.engine.models.test_catalog import lora, taesd


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_safetensors_file_is_copied_with_progress(tmp_path):
    src = lora(tmp_path / "ink.safetensors")
    dest = tmp_path / "models"
    plan = plan_import(src, dest)
    assert (plan.info.kind, plan.convert, plan.target) == ("lora", False, str(dest / src.name))
    seen = []
    result = install(plan, progress=lambda done, total: seen.append((done, total)))
    assert result.info.kind == "lora" and result.leftovers == ()
    assert (dest / src.name).read_bytes() == src.read_bytes() and src.exists()
    assert seen[-1] == (src.stat().st_size, src.stat().st_size)
    with pytest.raises(ModelLoadError, match="already installed"):
        plan_import(src, dest)
    with pytest.raises(ModelLoadError, match="already in the models folder"):
        plan_import(dest / src.name, dest)


def test_move_on_one_disk_is_a_rename(tmp_path):
    src = taesd(tmp_path / "taesd.safetensors")
    data = src.read_bytes()
    result = install(plan_import(src, tmp_path / "models"), move=True)
    assert not src.exists() and (tmp_path / "models" / "taesd.safetensors").read_bytes() == data
    assert result.info.kind == "taesd" and result.leftovers == ()


def test_a_pickled_gan_is_converted_with_its_sidecar(tmp_path):
    gen = RefGenerator(25, ngf=2, hidden=4, crop=32)
    src = tmp_path / "own.pth"
    torch.save({"state_dict": gen.state_dict()}, src)
    (tmp_path / "own.json").write_text(json.dumps({"label_set": "landscape"}))
    dest = tmp_path / "models"
    plan = plan_import(src, dest)
    assert plan.convert and plan.target == str(dest / "own.safetensors")
    result = install(plan, move=True)
    assert listing(dest) == ["own.json", "own.safetensors"]
    assert (result.info.kind, result.info.family, result.info.variant) == (
        "gan",
        "spade",
        "landscape",
    )
    assert result.leftovers == (str(src), str(tmp_path / "own.json"))  # the caller trashes them
    assert src.exists()
    _shapes, meta = read_safetensors_header(dest / "own.safetensors")
    assert meta == {"format": "pt", "converted_from": "own.pth"}
    got = inspect_folder(dest / "own.safetensors")
    assert got.usable


def test_a_folder_with_pickled_parts_is_converted(tmp_path, tiny_sd_path):
    from diffusers import AutoencoderTiny

    torch.manual_seed(0)
    src = tmp_path / "taesd-bin"
    AutoencoderTiny(encoder_block_out_channels=(8,) * 4, decoder_block_out_channels=(8,) * 4
                    ).save_pretrained(str(src), safe_serialization=False)  # fmt: skip
    assert listing(src) == ["config.json", "diffusion_pytorch_model.bin"]
    plan = plan_import(src, tmp_path / "models")
    assert plan.convert and plan.info.kind == "taesd"
    result = install(plan)
    assert result.info.usable and result.info.kind == "taesd"
    out = tmp_path / "models" / "taesd-bin"
    assert listing(out) == ["config.json", "diffusion_pytorch_model.safetensors"]
    loaded = AutoencoderTiny.from_pretrained(str(out))
    original = AutoencoderTiny.from_pretrained(str(src))
    for (k, a), b in zip(loaded.state_dict().items(), original.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    sd = install(plan_import(tiny_sd_path, tmp_path / "models"))
    assert sd.info.kind == "sd-pipeline" and sd.info.usable
    assert safetensors_name("pytorch_model.fp16.bin") == "model.fp16.safetensors"


def test_unrecognised_and_broken_inputs_are_refused_plainly(tmp_path):
    dest = tmp_path / "models"
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    (tmp_path / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    (tmp_path / "junk.ckpt").write_bytes(b"junk bytes")
    torch.save({"encoder.weight": torch.zeros(2, 2)}, tmp_path / "other.pt")
    cases = {
        "photo.png": "not a model Studio recognises: not a weight file",
        "broken.safetensors": "not a readable .safetensors file",
        "junk.ckpt": "not a readable checkpoint",
        "other.pt": "not a model Studio recognises",
    }
    for name, message in cases.items():
        with pytest.raises(ModelLoadError, match=message):
            plan_import(tmp_path / name, dest)
    gen = RefGenerator(25, ngf=2, hidden=4, crop=32)
    torch.save(gen.state_dict(), tmp_path / "nolabels.pth")
    with pytest.raises(ModelLoadError, match="looks like a SPADE model, but Studio cannot use it"):
        plan_import(tmp_path / "nolabels.pth", dest)
    assert not dest.exists() or listing(dest) == []


def test_an_unsafe_pickle_is_refused_and_never_run(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this must never print",))

    torch.save({"w": torch.zeros(1), "x": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(ModelLoadError, match="refused: loading it would run code"):
        plan_import(tmp_path / "evil.pt", tmp_path / "models")


def test_cancel_and_failure_leave_nothing_behind(tmp_path, tiny_sd_path):
    dest = tmp_path / "models"
    plan = plan_import(tiny_sd_path, dest)
    calls = []

    def cancel_later():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled, match="cancelled; nothing was added"):
        install(plan, cancelled=cancel_later)
    assert listing(dest) == []
    src = shutil.copytree(tiny_sd_path, tmp_path / "sd-copy")
    plan = plan_import(src, dest)
    shutil.rmtree(src / "unet")  # vanishes between inspection and copying
    with pytest.raises(ModelLoadError, match="did not come out as the same model"):
        install(plan)
    assert listing(dest) == [] and src.exists()


def test_not_enough_space_is_said_before_copying(tmp_path, monkeypatch):
    import studio.engine.models.importing as importing

    src = lora(tmp_path / "ink.safetensors")
    plan = plan_import(src, tmp_path / "models")
    monkeypatch.setattr(importing, "SPACE_MARGIN", shutil.disk_usage(tmp_path).free)
    with pytest.raises(ModelLoadError, match="Not enough free space to add ink.safetensors"):
        install(plan)
    assert listing(tmp_path / "models") == []


def test_the_artists_settings_follow_the_model(tmp_path, tiny_sd_path):
    from studio.engine.models.settings import ModelSettings, model_settings, set_model_settings

    src = shutil.copytree(tiny_sd_path, tmp_path / "my-sd")
    set_model_settings(src, ModelSettings(few_step="turbo"))
    (tmp_path / "my-sd.studio.json").write_text(json.dumps({"prediction": "v"}))
    plan = plan_import(src, tmp_path / "models")
    assert [p.rsplit("/", 1)[1] for p in plan.sidecars] == ["my-sd.studio.json"]
    result = install(plan)
    target = tmp_path / "models" / "my-sd"
    assert (tmp_path / "models" / "my-sd.studio.json").is_file()
    assert model_settings(target) == ModelSettings(prediction="v", few_step="turbo")
    assert result.info.has("turbo") and result.info.has("v-prediction")


def test_an_installed_pickle_is_converted_in_place(tmp_path):
    from studio.engine.models.importing import plan_conversion

    gen = RefGenerator(25, ngf=2, hidden=4, crop=32)
    src = tmp_path / "own.pth"
    torch.save(gen.state_dict(), src)
    (tmp_path / "own.json").write_text(json.dumps({"label_set": "landscape"}))  # shared by both
    (tmp_path / "own.pth.md").write_text("---\nlicense: mit\n---\n")  # named after the old file
    plan = plan_conversion(src)
    assert plan.in_place and plan.target == str(tmp_path / "own.safetensors")
    result = install(plan)
    assert result.info.kind == "gan" and result.info.variant == "landscape"
    assert result.leftovers == (str(src), str(tmp_path / "own.pth.md"))  # own.json is still used
    assert (tmp_path / "own.safetensors.md").is_file() and (tmp_path / "own.json").is_file()
    with pytest.raises(ModelLoadError, match="only .ckpt/.pt/.pth/.bin are converted"):
        plan_conversion(tmp_path / "own.safetensors")
    with pytest.raises(ModelLoadError, match="already exists next to own.pth"):
        plan_conversion(src)


def test_side_files_never_overwrite_what_is_there(tmp_path):
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / "own.json").write_text("a stray file of the artist's")
    torch.save(RefGenerator(25, ngf=2, hidden=4, crop=32).state_dict(), tmp_path / "own.pth")
    (tmp_path / "own.json").write_text(json.dumps({"label_set": "landscape"}))
    with pytest.raises(ModelLoadError, match="own.json is already in"):
        plan_import(tmp_path / "own.pth", dest)
    assert (dest / "own.json").read_text() == "a stray file of the artist's"
    assert listing(dest) == ["own.json"]
