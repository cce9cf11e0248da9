"""Tiny stand-ins for the bundled starter models, written in the shipped formats (tmp dirs)."""

from __future__ import annotations

from pathlib import Path

TINY_SPADE_WIDTHS = (8, 8, 8, 8, 8, 8, 8, 8)


def save_tiny_starter_diffusion(folder: Path, seed: int = 0) -> Path:
    """A random-weight starter diffusion folder (starter.json + unet/), as models/ ships it."""
    import torch

    from studio.engine.starter.model import build_unet, save_starter, tiny_config

    torch.manual_seed(seed)
    cfg = tiny_config()
    save_starter(folder, build_unet(cfg), cfg, "# Tiny starter\n", fp16=False)
    return folder


def save_tiny_spade(folder: Path, starter: bool = True, seed: int = 0) -> Path:
    """A random-weight Landscape SPADE in `folder` as `studio train spade` exports it
    (FOLDER/starter-spade.safetensors + .json sidecar); `starter=False` drops the flag."""
    import json

    import torch

    from studio.engine.gan.spade import build_generator, custom_arch
    from studio.engine.starter.vocab import LABEL_CHANNELS
    from studio.training.spade_train import export_generator

    torch.manual_seed(seed)
    g = build_generator(custom_arch(LABEL_CHANNELS, TINY_SPADE_WIDTHS, 4))
    path = export_generator(g, folder, {"note": "tiny test generator"})
    if not starter:
        sidecar = json.loads(path.with_suffix(".json").read_text())
        del sidecar["starter"]
        path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path
