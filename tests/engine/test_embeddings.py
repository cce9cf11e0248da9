"""Textual-inversion embeddings of every layout in the wild, made here, read safely and used."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from studio.engine.diffusion.embeddings import read_embedding, used_in
from studio.engine.diffusion.engine import DiffusionEngine
from studio.engine.diffusion.family import FAMILY
from studio.engine.inputs import GenerateParams, Inputs
from studio.engine.models.catalog import kind_of
from studio.engine.models.checkpoints import UnsafeCheckpointError
from studio.engine.models.registry import scan
from studio.engine.recipe import request_from_recipe
from studio.errors import InvalidRequestError
from tests.engine.test_diffusion_engine import request_for, run


def _torch():
    import torch

    return torch


def write(layout: str, path, vectors: dict[str, object]) -> None:
    """An embedding file in one of the layouts A1111, diffusers and kohya write."""
    torch = _torch()
    from safetensors.torch import save_file

    single = vectors.get("single")
    if layout == "a1111":
        data = {"string_to_token": {"*": 265}, "string_to_param": {"*": single}, "name": "x"}
        torch.save(dict(data, step=500, sd_checkpoint="abc", sd_checkpoint_name="m"), path)
    elif layout == "a1111-old":  # torch 1.11-era A1111: an nn.ParameterDict
        param = torch.nn.ParameterDict({"*": torch.nn.Parameter(single.clone())})
        torch.save({"string_to_token": {"*": 265}, "string_to_param": param, "step": 9}, path)
    elif layout == "diffusers":
        torch.save({"<my-token>": single}, path)
    elif layout == "diffusers-safetensors":
        save_file({"<my-token>": single.contiguous()}, str(path))
    elif layout == "kohya":
        save_file({"emb_params": single.contiguous()}, str(path))
    elif layout == "sdxl":
        save_file({k: v.contiguous() for k, v in vectors.items()}, str(path))


LAYOUTS = {
    "a1111": ".pt",
    "a1111-old": ".pt",
    "diffusers": ".bin",
    "diffusers-safetensors": ".safetensors",
    "kohya": ".safetensors",
}


@pytest.mark.parametrize("layout", [*LAYOUTS, "sdxl"])
def test_every_layout_reads_with_its_vectors(tmp_path, layout):
    torch = _torch()
    vectors = {"single": torch.randn(3, 768)}
    if layout == "sdxl":
        vectors = {"clip_l": torch.randn(2, 768), "clip_g": torch.randn(2, 1280)}
    path = tmp_path / f"mystyle{LAYOUTS.get(layout, '.safetensors')}"
    write(layout, path, vectors)
    found = read_embedding(path)
    assert found.name == "mystyle"
    for tensor in vectors.values():
        assert torch.equal(found.vectors[tensor.shape[1]], tensor)
    assert found.family == ("sdxl" if layout == "sdxl" else "sd1")
    info = FAMILY.inspect(path)
    assert (info.kind, info.family) == ("embedding", found.family)
    assert kind_of(info)[0] == ("Embedding (SDXL)" if layout == "sdxl" else "Embedding (SD 1.x)")


def test_old_files_need_only_the_parameterdict_and_code_is_refused(tmp_path):
    torch = _torch()
    old = tmp_path / "old.pt"
    write("a1111-old", old, {"single": torch.randn(1, 768)})
    with pytest.raises(pickle.UnpicklingError):  # torch's own weights-only loader refuses it
        torch.load(old, weights_only=True)
    assert read_embedding(old).vectors[768].shape == (1, 768)

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "ran"),))

    hostile = tmp_path / "hostile.pt"
    torch.save({"string_to_param": {"*": torch.zeros(1, 768)}, "x": Payload()}, hostile)
    with pytest.raises(UnsafeCheckpointError, match="would run code"):
        read_embedding(hostile)
    assert not (tmp_path / "ran").exists()
    with pytest.raises(UnsafeCheckpointError):  # the scan lists it as broken, with the reason
        FAMILY.inspect(hostile)


def test_scan_lists_embeddings_beside_models(tmp_path, tiny_models):
    torch = _torch()
    write("kohya", tmp_path / "inkwash.safetensors", {"single": torch.randn(2, 1024)})
    found = {m.name: m for m in scan([tmp_path], kinds=None)}["inkwash.safetensors"]
    assert (found.kind, found.family, found.owner) == ("embedding", "sd2", "diffusion")
    assert "inkwash" in found.notes[0]  # the word that calls it
    checkpoint = FAMILY.inspect(tiny_models.single_file("sd1"))
    assert checkpoint.kind == "sd-pipeline"  # a real checkpoint is not taken for one


def test_trigger_words_are_whole_words(tmp_path):
    paths = [str(tmp_path / "zq.pt"), str(tmp_path / "bad-hands.safetensors")]
    assert used_in(["a zq, cat"], paths) == (paths[0],)
    assert used_in(["a zqx cat"], paths) == ()
    assert used_in(["x", "(Bad-Hands:1.2)"], paths) == (paths[1],)


def _token_rows(encoder, tokenizer, word: str):
    ids = tokenizer(word, add_special_tokens=False)["input_ids"]
    return encoder.get_input_embeddings().weight[ids].detach().clone()


def _lookalike(tmp_path, family: str, folder, word: str = "dog"):
    """An embedding "zq" whose vectors are the word's own token vectors."""
    from diffusers import DiffusionPipeline

    pipe = DiffusionPipeline.from_pretrained(folder)
    if family == "sdxl":
        vectors = {
            "clip_l": _token_rows(pipe.text_encoder, pipe.tokenizer, word),
            "clip_g": _token_rows(pipe.text_encoder_2, pipe.tokenizer_2, word),
        }
        path = tmp_path / "zq.safetensors"
        write("sdxl", path, vectors)
    else:
        path = tmp_path / "zq.pt"
        write("a1111", path, {"single": _token_rows(pipe.text_encoder, pipe.tokenizer, word)})
    return path


@pytest.fixture(scope="module")
def engine() -> DiffusionEngine:
    return DiffusionEngine()


@pytest.mark.parametrize("family", ["sd1", "sd2", "sdxl"])
def test_trigger_word_uses_the_embedding(engine, tiny_models, tmp_path, family):
    folder = tiny_models.folder(family)
    path = _lookalike(tmp_path, family, folder)

    def built(prompt: str):
        params = GenerateParams(
            prompt=prompt, negative_prompt="blurry", steps=4, guidance_scale=6.0, seed=1234,
            width=64, height=64, sampler="Euler", device="cpu", dtype="float32",
            embeddings=(str(path),),
        )  # fmt: skip
        return FAMILY.build_request("prompt", str(folder), params, Inputs((64, 64))).request

    without = built("a red barn")
    assert without.embeddings == () and "embeddings" not in without.describe()
    request = built("a zq on a hill")
    assert request.embeddings == (str(path),)
    used, steps = run(engine, request)
    dog, _ = run(engine, request_for(folder, prompt="a dog on a hill"))
    word, _ = run(engine, request_for(folder, prompt="a zq on a hill"))
    assert np.array_equal(used.image, dog.image)  # the vectors took the word's place exactly
    assert not np.array_equal(used.image, word.image)
    assert len(steps) == 5
    assert used.recipe["embeddings"] == ["zq"]
    assert used.recipe["request"]["embeddings"][0]["sha256"]
    again, _ = run(engine, request_from_recipe(json.loads(json.dumps(used.recipe))))
    assert np.array_equal(again.image, used.image)
    heavier, _ = run(engine, built("a (zq:1.4) on a hill"))
    assert not np.array_equal(heavier.image, used.image)


def test_an_embedding_for_another_family_is_refused(engine, tiny_models, tmp_path):
    torch = _torch()
    path = tmp_path / "sd1only.pt"
    write("a1111", path, {"single": torch.randn(2, 32)})  # fits only the first SDXL encoder
    request = request_for(tiny_models.folder("sdxl"), prompt="a sd1only", embeddings=(str(path),))
    with pytest.raises(InvalidRequestError, match="does not fit"):
        run(engine, request)


def test_cli_generate_takes_embedding_files(tiny_sd_path, tmp_path):
    from diffusers import DiffusionPipeline

    pipe = DiffusionPipeline.from_pretrained(tiny_sd_path)
    path = tmp_path / "zq.pt"
    write("a1111", path, {"single": _token_rows(pipe.text_encoder, pipe.tokenizer, "dog")})
    out = tmp_path / "out.png"
    args = ["generate", "--model", str(tiny_sd_path), "--prompt", "a zq", "--steps", "2"]
    args += ["--width", "64", "--height", "64", "--device", "cpu", "--dtype", "float32"]
    args += ["--embedding", str(path), "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "studio", *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    from studio.io.png import read_recipe

    assert read_recipe(out)["embeddings"] == ["zq"]
