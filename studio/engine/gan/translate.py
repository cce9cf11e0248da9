"""A loaded pix2pix / CycleGAN generator: choose the file for a direction, run image -> image."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.gan.pix2pix import UnetArch, load_generator, set_noise
from studio.engine.gan.requests import TranslateRequest
from studio.engine.gan.tiles import run_tiled
from studio.engine.gan.weights import read_state_dict
from studio.errors import InvalidRequestError, ModelLoadError

SUFFIXES = (".safetensors", ".pth", ".pt")
OVERLAP = 64
MAX_SIDE = 8192


@dataclass
class LoadedTranslator:
    """One image-to-image generator on a device."""

    path: str
    net: Any
    device: str

    @property
    def arch(self):
        return self.net.arch


def generator_file(model: str | Path, direction: str) -> Path:
    """The file to run: a file as given (its twin for BtoA), or latest_net_G_A/_B in a folder."""
    model = Path(model)
    tag = "A" if direction == "AtoB" else "B"
    if model.is_dir():
        for stem in (f"latest_net_G_{tag}", "latest_net_G" if tag == "A" else None):
            for suffix in SUFFIXES:
                if stem and (model / f"{stem}{suffix}").is_file():
                    return model / f"{stem}{suffix}"
        raise ModelLoadError(
            f"{model.name} holds no generator for {direction}.",
            f"Looked for latest_net_G_{tag}{{{','.join(SUFFIXES)}}}",
        )
    if direction == "AtoB" or model.stem.endswith("_G_B"):
        return model
    if model.stem.endswith("_G_A"):
        twin = model.with_name(model.stem[:-1] + "B" + model.suffix)
        if twin.is_file():
            return twin
    raise InvalidRequestError(
        f"{model.name} translates one way only; for BtoA choose the other direction's "
        "generator (a CycleGAN G_B file, or the folder holding latest_net_G_A and _B)."
    )


def load_translator(path: str | Path, device: str = "cpu") -> LoadedTranslator:
    """Read a generator file safely and load it strictly into the inferred architecture."""
    net = load_generator(read_state_dict(path))
    return LoadedTranslator(str(path), net.to(device), device)


def translate(
    loaded: LoadedTranslator, request: TranslateRequest, cancel: threading.Event | None = None
) -> np.ndarray:
    """HxWx3 uint8 -> HxWx3 uint8 at the same size (tiled above `request.tile` pixels)."""
    import torch

    h, w = request.image.shape[:2]
    if max(h, w) > MAX_SIDE:
        raise InvalidRequestError(f"Images up to {MAX_SIDE} pixels a side, got {w}x{h}.")
    arch = loaded.arch
    is_unet = isinstance(arch, UnetArch)
    dropout = request.dropout if request.dropout is not None else is_unet
    multiple = arch.multiple if is_unet else 2**arch.n_downsampling
    tile = request.tile if not is_unet or request.tile <= 0 else max(request.tile, multiple)
    set_noise(loaded.net, request.seed if dropout else None)
    x = np.asarray(request.image, dtype=np.float32) / 127.5 - 1.0  # [-1, 1], mean = std = 0.5

    def run(piece: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(piece.transpose(2, 0, 1)))[None]
        with torch.inference_mode():
            out = loaded.net(t.to(loaded.device))
        return out[0].float().cpu().numpy().transpose(1, 2, 0)

    try:
        y = run_tiled(x, run, tile, OVERLAP, multiple, cancel)
    finally:
        set_noise(loaded.net, None)
    return np.clip((y + 1.0) / 2.0 * 255.0, 0, 255).astype(np.uint8)


def describe_model(loaded: LoadedTranslator) -> dict[str, Any]:
    """Recipe fields naming the model and its inferred architecture."""
    arch = loaded.arch
    fields = {k: v for k, v in vars(arch).items() if not k.startswith("_")}
    return {
        "model_name": Path(loaded.path).name,
        "model_family": f"pix2pix-{arch.kind}",
        "architecture": {k: (list(v) if isinstance(v, tuple) else v) for k, v in fields.items()},
        "device": loaded.device,
    }
