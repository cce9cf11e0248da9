"""Shipped config folders are complete and valid; tokenizer files are derived from the wheel."""

from __future__ import annotations

import json

import pytest

from studio.engine.models.clip_vocab import build_vocab
from studio.engine.models.configs import SHIPPED, config_name, materialise
from studio.engine.models.registry import ModelInfo

FAMILIES = ["sd1", "sd1-inpaint", "sd2", "sd2-v", "sd2-inpaint", "sdxl", "sdxl-inpaint"]
FAMILIES.append("sdxl-refiner")


def test_vocab_matches_openai_clip_ids(tmp_path):
    from transformers import CLIPTokenizer

    vocab, merges = build_vocab()
    assert len(vocab) == 49408 and len(merges) == 48894
    assert vocab["<|startoftext|>"] == 49406 and vocab["<|endoftext|>"] == 49407
    folder = materialise("sd1", cache=tmp_path)
    tok = CLIPTokenizer.from_pretrained(str(folder / "tokenizer"), local_files_only=True)
    ids = tok("A painting of a squirrel eating a burger").input_ids
    assert ids == [49406, 320, 3086, 539, 320, 14004, 4371, 320, 6548, 49407]
    assert (folder / "tokenizer" / "merges.txt").stat().st_size == 524619
    assert (folder / "tokenizer" / "vocab.json").stat().st_size == 961143


def test_sdxl_second_tokenizer_pads_with_bang(tmp_path):
    from transformers import CLIPTokenizer

    folder = materialise("sdxl", cache=tmp_path)
    first = CLIPTokenizer.from_pretrained(str(folder / "tokenizer"), local_files_only=True)
    second = CLIPTokenizer.from_pretrained(str(folder / "tokenizer_2"), local_files_only=True)
    assert (first.pad_token_id, second.pad_token_id) == (49407, 0)


def test_materialise_reuses_a_complete_folder(tmp_path):
    first = materialise("sd2", cache=tmp_path)
    stamp = (first / "tokenizer" / "vocab.json").stat().st_mtime_ns
    assert materialise("sd2", cache=tmp_path) == first
    assert (first / "tokenizer" / "vocab.json").stat().st_mtime_ns == stamp


@pytest.mark.parametrize("name", FAMILIES)
def test_shipped_pipeline_configs_build_the_real_architecture(name):
    """Every component config builds its model (on the meta device: no memory, no weights)."""
    import diffusers
    import transformers
    from accelerate import init_empty_weights

    folder = SHIPPED / name
    index = json.loads((folder / "model_index.json").read_text())
    assert hasattr(diffusers, index["_class_name"])
    counts = {}
    for part, value in index.items():
        if not isinstance(value, list) or not value[0]:
            continue
        library, cls_name = value
        if part.startswith("tokenizer"):
            assert (folder / part / "tokenizer_config.json").is_file()
            continue
        module = diffusers if library == "diffusers" else transformers
        cls = getattr(module, cls_name)
        if part == "scheduler":
            cls.from_config(json.loads((folder / part / "scheduler_config.json").read_text()))
            continue
        with init_empty_weights():
            if library == "transformers":
                model = cls(cls.config_class.from_pretrained(str(folder / part)))
            else:
                model = cls.from_config(cls.load_config(str(folder / part)))
        counts[part] = sum(p.numel() for p in model.parameters())
    # Published sizes: SD1/2 UNet ~860 M, SDXL ~2.57 G, refiner ~2.3 G
    if name == "sdxl-refiner":
        target = 2.3e9
    elif name.startswith("sdxl"):
        target = 2.567e9
    else:
        target = 860e6
    assert abs(counts["unet"] - target) / target < 0.03, counts
    assert 83e6 < counts["vae"] < 84e6  # AutoencoderKL 83.65 M
    if "text_encoder_2" in counts:  # OpenCLIP bigG text tower with projection: 694.7 M
        assert abs(counts["text_encoder_2"] - 694.7e6) < 1e6


@pytest.mark.parametrize(
    "family, variant, expected",
    [
        ("sd1", "", "sd1"),
        ("sd1", "inpaint", "sd1-inpaint"),
        ("sd2", "v-prediction", "sd2-v"),
        ("sd2", "inpaint", "sd2-inpaint"),
        ("sdxl", "turbo", "sdxl"),
        ("sdxl", "inpaint", "sdxl-inpaint"),
        ("sdxl", "refiner", "sdxl-refiner"),
    ],
)
def test_config_choice_follows_family_and_variant(family, variant, expected):
    info = ModelInfo(
        "m", "/nowhere/m.safetensors", "sd-pipeline", family, "single-file", 1, None, variant
    )
    assert config_name(info) == expected
