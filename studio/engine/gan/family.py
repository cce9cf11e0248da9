"""The GAN family: SPADE (labels -> picture, the live draft) and pix2pix / CycleGAN (picture ->
picture, the Translate tab), one step each, read from their published checkpoint layouts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.engine.families import Family
from studio.engine.gan.requests import SpadeRequest, TranslateRequest
from studio.engine.inputs import Built, GenerateParams, Inputs
from studio.engine.models.checkpoints import WEIGHT_SUFFIXES
from studio.engine.models.registry import ModelInfo
from studio.errors import ModelLoadError, StudioError

# The document's palettes by name -> the label sets the GAN engine knows.
PALETTE_LABEL_SETS = {
    "ADE20K-150": "ade20k",
    "COCO-Stuff-182": "cocostuff",
    "Landscape": "landscape",
}


def label_set_of(inputs: Inputs, params: GenerateParams) -> str:
    """The label set the ids are in: the palette's, else the one named, else ADE20K."""
    if inputs.palette is not None:
        name = str(inputs.palette.get("name", ""))
        return PALETTE_LABEL_SETS.get(name, name.lower())
    if params.label_set or inputs.label_space:
        return params.label_set or str(inputs.label_space)
    if inputs.label_colours is not None:  # an indexed PNG: its colours tell the label set
        from studio.engine.labels import guess_label_set

        guessed = guess_label_set(inputs.labels, inputs.label_colours)
        if guessed:
            return guessed
    raise StudioError("Cannot tell which label set the label map uses: name it (--label-set).")


class GanFamily(Family):
    name = "gan"
    title = "GAN"
    request_types = (SpadeRequest, TranslateRequest)
    modes = ("paint", "translate")
    suffixes = tuple(sorted(WEIGHT_SUFFIXES))

    def recognises(self, path: Path) -> bool:
        from studio.engine.gan.inspect import classify

        path = Path(path)
        if not path.is_file():
            return False
        info = classify(path)
        return info is not None and info.kind != "unknown"

    def inspect(self, path: Path) -> ModelInfo | None:
        """SPADE, pix2pix and CycleGAN generator files, from their key names."""
        from studio.engine.gan.inspect import classify
        from studio.engine.gan.weights import read_sidecar

        path = Path(path)
        if path.is_dir():
            return self._translate_folder(path)
        if not path.is_file() or path.suffix.lower() not in WEIGHT_SUFFIXES:
            return None
        info = classify(path)
        if info is None or info.kind == "unknown":
            return None
        problem = info.problem
        if info.kind == "spade-encoder":
            problem = "a SPADE style encoder: it is used with the generator next to it"
        try:
            starter = read_sidecar(path).get("starter") is True  # written by `studio train spade`
        except ModelLoadError:
            starter = False
        size = path.stat().st_size
        return ModelInfo(
            path.name, str(path), "gan", info.kind, "single-file", size, problem,
            info.label_space or "", starter=starter, owner=self.name,
        )  # fmt: skip

    def _translate_folder(self, folder: Path) -> ModelInfo | None:
        """A pix2pix / CycleGAN results folder (latest_net_G_A / _B, as the reference code
        writes them): what its AtoB generator is."""
        from studio.engine.gan.translate import generator_file

        try:
            generator = generator_file(folder, "AtoB")
        except StudioError:
            return None
        info = self.inspect(generator)
        if info is None:
            return None
        return ModelInfo(
            folder.name, str(folder), "gan", info.family, "folder", info.size_bytes,
            info.problem, info.variant, owner=self.name,
        )  # fmt: skip

    def make_engine(self, cache: Any = None) -> Any:
        from studio.engine.gan.engine import GanEngine

        return GanEngine(shared=cache)

    def needs(self, mode: str, params: GenerateParams) -> frozenset[str]:
        return frozenset({"labels"}) if mode == "paint" else frozenset({"picture"})

    def build_request(
        self, mode: str, model_path: str, params: GenerateParams, inputs: Inputs
    ) -> Built:
        if mode == "paint":
            if inputs.labels is None:
                raise StudioError("A SPADE model paints from a label map: give it one.")
            request = SpadeRequest(
                model_path,
                inputs.labels,
                label_set=label_set_of(inputs, params),
                seed=params.seed,
                style_image=inputs.reference,
                device=params.device,
            )
            return Built(request, {"label_map": inputs.labels})  # at the label map's size
        if mode == "translate":
            if inputs.picture is None:
                raise StudioError("pix2pix and CycleGAN translate a picture: give them one.")
            request = TranslateRequest(
                model_path,
                inputs.picture,
                params.direction,
                params.seed,
                dropout=params.dropout,
                tile=params.tile,
                device=params.device,
            )
            return Built(request, {"image": inputs.picture})
        return super().build_request(mode, model_path, params, inputs)


FAMILY = GanFamily()
