"""The generators `studio eval` compares, behind one call: (labels, meta) -> picture.

    generator(labels: HxW uint16 Landscape values, meta: dict) -> HxWx3 uint8

meta is the scene's meta/<id>.json (time, weather, season, caption) plus "id" and
"eval_seed" (the scene's index in the held-out list: a fixed noise seed per scene).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from studio.engine.starter.vocab import LABEL_CHANNELS


class Generator(Protocol):
    """A picture for a label map and a scene's style; `name` is its row in the table."""

    name: str

    def __call__(self, labels: np.ndarray, meta: dict[str, Any]) -> np.ndarray: ...


class FlatGenerator:
    """Each class painted its mean colour over the training split (the floor to beat)."""

    name = "flat baseline"

    def __init__(self, colors: np.ndarray) -> None:
        self.colors = np.asarray(colors, dtype=np.uint8)  # [classes, 3]
        if self.colors.shape != (LABEL_CHANNELS, 3):
            raise ValueError(f"need [{LABEL_CHANNELS}, 3] colours, got {self.colors.shape}")

    def __call__(self, labels: np.ndarray, meta: dict[str, Any]) -> np.ndarray:
        return self.colors[np.minimum(np.asarray(labels), LABEL_CHANNELS - 1)]


class SpadeGenerator:
    """A SPADE checkpoint through the GAN engine (load_spade / render), Landscape labels."""

    name = "starter SPADE"

    def __init__(self, path: str | Path, device: str = "cpu") -> None:
        from studio.engine.gan.spade_model import load_spade

        self.path = str(path)
        self.loaded = load_spade(self.path, device)

    def __call__(self, labels: np.ndarray, meta: dict[str, Any]) -> np.ndarray:
        from studio.engine.gan.requests import SpadeRequest
        from studio.engine.gan.spade_model import render

        request = SpadeRequest(
            model_path=self.path,
            label_map=np.asarray(labels, np.uint16),
            label_set="landscape",
            seed=int(meta.get("eval_seed", 0)),
        )
        image, _unknown = render(self.loaded, request)
        return image


def _style(meta: dict[str, Any]) -> int:
    from studio.engine.starter import vocab

    def pick(key: str, known: tuple[str, ...]) -> str | None:
        value = meta.get(key)
        return value if value in known else None

    return vocab.style_id(
        pick("time", vocab.TIMES), pick("weather", vocab.WEATHERS), pick("season", vocab.SEASONS)
    )


class DiffusionGenerator:
    """The starter diffusion (engine/starter): label map + the scene's style, fixed seed."""

    name = "starter diffusion"

    def __init__(
        self,
        folder: str | Path,
        num_inference_steps: int = 20,
        guidance_scale: float | None = None,
        device: str = "cpu",
    ) -> None:
        from studio.engine.starter.model import load_starter

        self.loaded = load_starter(folder, device)
        self.num_inference_steps = num_inference_steps
        self.guidance_scale = guidance_scale

    def __call__(self, labels: np.ndarray, meta: dict[str, Any]) -> np.ndarray:
        import torch

        from studio.engine.starter.model import labels_to_onehot
        from studio.engine.starter.sampling import sample

        onehot = labels_to_onehot(labels, self.loaded.cfg.native_size)[None]
        gen = torch.Generator("cpu").manual_seed(int(meta.get("eval_seed", 0)))
        pictures = sample(
            self.loaded,
            onehot,
            [_style(meta)],
            num_inference_steps=self.num_inference_steps,
            guidance_scale=self.guidance_scale,
            generator=gen,
        )
        return pictures[0]
