"""The StyleGAN family: NVlabs StyleGAN2 / 2-ADA / StyleGAN3 pickles, rosinality checkpoints
and their .safetensors conversions; one mode, "sample" (a picture from a seed), one step each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.engine.families import Family
from studio.engine.inputs import Built, GenerateParams, Inputs
from studio.engine.models.registry import ModelInfo
from studio.engine.stylegan.requests import StyleGANRequest, request_from_recipe
from studio.errors import ModelLoadError, StudioError

PICKLE_MARKERS = (b"torch_utils.persistence", b"_reconstruct_persistent_obj")
HEAD_BYTES = 1 << 16  # NVlabs pickles name the persistence hook in their first bytes
SG2_KEYS = ("mapping.fc0.weight", "synthesis.b4.const")


def _looks_like_nvlabs_pickle(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
    return all(marker in head for marker in PICKLE_MARKERS)


def _looks_like_weights(path: Path) -> bool:
    """Our key names (a converted file, a plain state dict) or rosinality's g_ema layout."""
    from studio.engine.models.checkpoints import read_pickle, read_safetensors_header
    from studio.engine.stylegan.load import SIDECAR_FORMAT

    if path.suffix.lower() == ".safetensors":
        shapes, metadata = read_safetensors_header(path)
        return metadata.get("format") == SIDECAR_FORMAT or all(k in shapes for k in SG2_KEYS)
    data = read_pickle(path)
    if not isinstance(data, dict):
        return False
    if isinstance(data.get("g_ema"), dict):
        return "input.input" in data["g_ema"]
    inner = data.get("G_ema") if isinstance(data.get("G_ema"), dict) else data
    return all(k in inner for k in SG2_KEYS)


class StyleGANFamily(Family):
    name = "stylegan"
    title = "StyleGAN"
    request_types = (StyleGANRequest,)
    modes = ("sample",)
    suffixes = (".pkl", ".pt", ".pth", ".safetensors")

    def recognises(self, path: Path) -> bool:
        path = Path(path)
        if not path.is_file() or path.suffix.lower() not in self.suffixes:
            return False
        try:
            if path.suffix.lower() == ".pkl":
                return _looks_like_nvlabs_pickle(path)
            return _looks_like_weights(path)
        except (OSError, StudioError):
            return False

    def inspect(self, path: Path) -> ModelInfo | None:
        """StyleGAN2 generators; their architecture is read (weights too, for a .pkl)."""
        from studio.engine.stylegan.load import load_generator_weights

        path = Path(path)
        if not self.recognises(path):
            return None
        size = path.stat().st_size
        try:
            config, _sd = load_generator_weights(path)
        except ModelLoadError as exc:
            return ModelInfo(path.name, str(path), "gan", "stylegan", "single-file", size,
                             exc.message, owner=self.name)  # fmt: skip
        classes = f"{config.c_dim} classes" if config.c_dim else "unconditional"
        notes = (f"{config.img_resolution}² px, {classes}", LICENCE)
        return ModelInfo(path.name, str(path), "gan", config.generation, "single-file", size,
                         None, "", notes, owner=self.name)  # fmt: skip

    def make_engine(self, cache: Any = None) -> Any:
        from studio.engine.stylegan.engine import StyleGANEngine

        return StyleGANEngine(shared=cache)

    def needs(self, mode: str, params: GenerateParams) -> frozenset[str]:
        return frozenset()  # a sample takes nothing from the document

    def build_request(
        self, mode: str, model_path: str, params: GenerateParams, inputs: Inputs
    ) -> Built:
        if mode != "sample":
            return super().build_request(mode, model_path, params, inputs)
        request = StyleGANRequest(
            model_path,
            seed=params.seed,
            truncation=params.truncation,
            class_index=params.class_index,
            noise_mode=params.noise_mode,
            mix_seed=params.mix_seed,
            mix_layers=params.mix_layers,
            translate=(params.translate_x, params.translate_y),
            rotate=params.rotate,
            device=params.device,
        )
        return Built(request)

    def convert(self, path: Path, out: Path | None = None) -> Path:
        """Any of its files as .safetensors (NVlabs key names) + a JSON architecture sidecar."""
        from studio.engine.stylegan.load import convert

        return convert(path, out)

    def request_from_recipe(self, recipe: dict, arrays: dict[str, Any]) -> Any:
        return request_from_recipe(recipe)


LICENCE = (
    "Licence: NVIDIA's published StyleGAN weights are non-commercial (NVIDIA Source Code "
    "License); check the terms of community models."
)
FAMILY = StyleGANFamily()
