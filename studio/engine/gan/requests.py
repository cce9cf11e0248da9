"""Frozen GAN requests crossing threads: SPADE (labels -> photo), translate (image -> image)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.engine.requests import _frozen_copy

DIRECTIONS = ("AtoB", "BtoA")


def _rgb(image: np.ndarray | None, name: str) -> np.ndarray | None:
    out = _frozen_copy(image, np.uint8, 3, name)
    if out is not None and out.shape[2] == 4:
        out = _frozen_copy(out[:, :, :3], np.uint8, 3, name)
    if out is not None and out.shape[2] != 3:
        raise ValueError(f"{name} must be HxWx3 or HxWx4, got shape {out.shape}")
    return out


@dataclass(frozen=True)
class SpadeRequest:
    """A label map in some label set, rendered by a SPADE checkpoint."""

    model_path: str
    label_map: np.ndarray  # HxW uint16 ids of `label_set`
    label_set: str = "ade20k"  # built-in name or a palette .json path
    seed: int = 0  # z for VAE-trained models (no effect on deterministic ones)
    style_image: np.ndarray | None = None  # HxWx3 uint8, needs a style encoder
    instance_map: np.ndarray | None = None  # HxW uint16; None: label boundaries are the edges
    width: int | None = None  # None: the label map's size (rounded to what the model accepts)
    height: int | None = None
    device: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "label_map", _frozen_copy(self.label_map, np.uint16, 2, "label_map")
        )
        inst = _frozen_copy(self.instance_map, np.uint16, 2, "instance_map")
        if inst is not None and inst.shape != self.label_map.shape:
            raise ValueError(
                f"instance_map {inst.shape} must match label_map {self.label_map.shape}"
            )
        object.__setattr__(self, "instance_map", inst)
        object.__setattr__(self, "style_image", _rgb(self.style_image, "style_image"))

    @property
    def mode(self) -> str:
        return "spade"

    def describe(self) -> dict[str, Any]:
        """The request as plain JSON-able values (arrays left out)."""
        h, w = self.label_map.shape
        return {
            "mode": self.mode,
            "model": self.model_path,
            "label_set": self.label_set,
            "seed": self.seed,
            "width": self.width or w,
            "height": self.height or h,
            "style_image": self.style_image is not None,
        }


@dataclass(frozen=True)
class TranslateRequest:
    """An RGB image through a pix2pix / CycleGAN generator."""

    model_path: str  # a generator file, or a folder with latest_net_G_A/_B
    image: np.ndarray  # HxWx3 uint8
    direction: str = "AtoB"
    seed: int = 0  # dropout noise (pix2pix); no effect without dropout
    dropout: bool | None = None  # None: the model's default (on for U-Net pix2pix)
    tile: int = 512  # tile side in pixels for large images (0: never tile)
    device: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "image", _rgb(self.image, "image"))
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be AtoB or BtoA, got {self.direction!r}")

    @property
    def mode(self) -> str:
        return "translate"

    def describe(self) -> dict[str, Any]:
        """The request as plain JSON-able values (arrays left out)."""
        h, w = self.image.shape[:2]
        return {
            "mode": self.mode,
            "model": self.model_path,
            "direction": self.direction,
            "seed": self.seed,
            "dropout": self.dropout,
            "width": w,
            "height": h,
        }
