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
    """A picture for a label map and a scene's style; `name` is its row in the table.

    A generator may also offer `many(labels_list, metas) -> list of pictures` (batched, for
    speed on CPU); `studio eval` then hands it `batch_size` scenes at a time.
    """

    name: str

    def __call__(self, labels: np.ndarray, meta: dict[str, Any]) -> np.ndarray: ...


def make_pictures(gen: Generator, labels: list, metas: list, batch: int) -> list[np.ndarray]:
    """The generator's pictures for these scenes (batched if it offers `many`)."""
    if not hasattr(gen, "many") or batch <= 1:
        return [
            np.asarray(gen(lab, meta), np.uint8) for lab, meta in zip(labels, metas, strict=True)
        ]
    out: list[np.ndarray] = []
    for start in range(0, len(labels), batch):
        chunk = gen.many(labels[start : start + batch], metas[start : start + batch])
        out.extend(np.asarray(picture, np.uint8) for picture in chunk)
    return out


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
    """The starter diffusion (engine/starter): label map + the scene's style, fixed seed.

    Batched: the noise of a batch comes from one generator seeded by its first scene's
    eval_seed, so results are fixed for a given batch size (20 steps, CFG as the model's default).
    """

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
        return self.many([labels], [meta])[0]

    def many(self, labels: list[np.ndarray], metas: list[dict[str, Any]]) -> list[np.ndarray]:
        import torch

        from studio.engine.starter.model import labels_to_onehot
        from studio.engine.starter.sampling import sample

        size = self.loaded.cfg.native_size
        onehot = torch.stack([labels_to_onehot(lab, size) for lab in labels])  # [B,25,S,S]
        gen = torch.Generator("cpu").manual_seed(int(metas[0].get("eval_seed", 0)))
        pictures = sample(
            self.loaded,
            onehot,
            [_style(meta) for meta in metas],
            num_inference_steps=self.num_inference_steps,
            guidance_scale=self.guidance_scale,
            generator=gen,
        )
        return list(pictures)
