"""The evaluation segmenter: a small conv encoder-decoder, label map from a picture.

It is a measuring instrument, not a user model: trained only on real synthetic renders, then
applied to generated pictures (label faithfulness) and used for its pooled encoder features
(a Fréchet distance). Input: RGB at SIZE x SIZE in [-1, 1]; output: LABEL_CHANNELS logits.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from studio.engine.starter.vocab import LABEL_CHANNELS
from studio.errors import StudioError

FORMAT = "studio-eval-segmenter"
SIZE = 128  # the segmenter's input side in px
WIDTHS = (16, 24, 48, 64, 96)  # channels at 128, 64, 32, 16, 8 px (~470K parameters)
SHIPPED = Path(__file__).resolve().parents[2] / "resources" / "eval" / "segmenter.safetensors"


class SegmenterError(StudioError):
    """A segmenter file is missing, unreadable or of another layout."""


@functools.cache
def _classes():
    import torch
    from torch import nn

    def block(cin: int, cout: int, stride: int, convs: int = 2) -> nn.Sequential:
        layers: list[nn.Module] = []
        for i in range(convs):
            layers += [
                nn.Conv2d(cin if i == 0 else cout, cout, 3, stride if i == 0 else 1, 1, bias=False),
                nn.GroupNorm(4, cout),
                nn.SiLU(),
            ]
        return nn.Sequential(*layers)

    class Segmenter(nn.Module):
        """U-Net-like: 4 stride-2 stages down to 8 px, bilinear up with skips."""

        def __init__(self, widths: tuple[int, ...] = WIDTHS, classes: int = LABEL_CHANNELS):
            super().__init__()
            self.down = nn.ModuleList(
                block(cin, cout, 1 if i == 0 else 2, 1 if i == 0 else 2)
                for i, (cin, cout) in enumerate(zip((3, *widths[:-1]), widths, strict=True))
            )
            self.up = nn.ModuleList(
                block(widths[i + 1] + widths[i], widths[i], 1, 1 if i == 0 else 2)
                for i in range(len(widths) - 1)
            )
            self.head = nn.Conv2d(widths[0], classes, 1)

        def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
            skips = []
            for stage in self.down:
                x = stage(x)
                skips.append(x)
            return skips

        def features(self, x: torch.Tensor) -> torch.Tensor:
            """[B, 3, S, S] -> [B, widths[-1]] mean-pooled bottleneck features."""
            return self.encode(x)[-1].mean(dim=(2, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.run(x)[0]

        def run(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """(logits [B, classes, S, S], pooled features [B, widths[-1]])."""
            skips = self.encode(x)
            y = skips[-1]
            for i in range(len(self.up) - 1, -1, -1):
                y = nn.functional.interpolate(
                    y, size=skips[i].shape[-2:], mode="bilinear", align_corners=False
                )
                y = self.up[i](torch.cat([y, skips[i]], dim=1))
            return self.head(y), skips[-1].mean(dim=(2, 3))

    return Segmenter


def build(widths: tuple[int, ...] = WIDTHS, classes: int = LABEL_CHANNELS):
    """A fresh Segmenter module (random weights from torch's current seed)."""
    return _classes()(tuple(widths), classes)


def parameter_count(net) -> int:
    return sum(p.numel() for p in net.parameters())


def to_input(images: list[np.ndarray] | np.ndarray, size: int = SIZE):
    """HxWx3 uint8 pictures (any size) -> [B, 3, size, size] float in [-1, 1]."""
    import torch

    batch = np.stack([resize_image(im, size) for im in images])  # B x S x S x 3 uint8
    x = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def resize_image(image: np.ndarray, size: int = SIZE) -> np.ndarray:
    """HxWx3 uint8 -> size x size x 3 uint8 (box filter down, bicubic up)."""
    image = np.asarray(image, dtype=np.uint8)[:, :, :3]
    if image.shape[:2] == (size, size):
        return image
    pil = Image.fromarray(image, "RGB")
    smaller = pil.width > size
    method = Image.Resampling.BOX if smaller else Image.Resampling.BICUBIC
    return np.asarray(pil.resize((size, size), method))


def resize_labels(labels: np.ndarray, size: int = SIZE) -> np.ndarray:
    """HxW ids -> size x size ids by nearest pixel centre."""
    labels = np.asarray(labels)
    h, w = labels.shape
    rows = np.minimum(((np.arange(size) + 0.5) * h / size).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(size) + 0.5) * w / size).astype(np.int64), w - 1)
    return labels[rows][:, cols]


@dataclass
class LoadedSegmenter:
    """A segmenter in eval mode plus what its file says (size, flat colours, training record)."""

    net: Any
    size: int
    info: dict[str, Any]
    flat_colors: np.ndarray | None  # [classes, 3] uint8 mean colour per class, if stored

    def predict(self, images: list[np.ndarray], batch: int = 16) -> np.ndarray:
        """[B, S, S] int64 class values of pictures resized to S = self.size."""
        return np.concatenate([out[0] for out in self._run(images, batch)])

    def features(self, images: list[np.ndarray], batch: int = 16) -> np.ndarray:
        """[B, D] float64 pooled encoder features."""
        return np.concatenate([out[1] for out in self._run(images, batch)])

    def _run(self, images: list[np.ndarray], batch: int):
        import torch

        with torch.inference_mode():
            for start in range(0, len(images), batch):
                x = to_input(images[start : start + batch], self.size)
                logits, feats = self.net.run(x)
                yield logits.argmax(1).numpy().astype(np.int64), feats.double().numpy()


def save(path: Path, net, info: dict[str, Any], flat_colors: np.ndarray | None = None) -> None:
    """Weights in fp16 (+ flat colours) as safetensors; `info` as JSON in the header metadata."""
    import torch
    from safetensors.torch import save_file

    tensors = {k: v.detach().half().contiguous() for k, v in net.state_dict().items()}
    if flat_colors is not None:
        tensors["flat_colors"] = torch.from_numpy(np.asarray(flat_colors, np.uint8).copy())
    meta = {"format": FORMAT, "info": json.dumps(info, sort_keys=True)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)


def load(path: Path | None = None) -> LoadedSegmenter:
    """Read a segmenter file (default: the shipped one) strictly; eval mode, CPU."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path) if path else SHIPPED
    if not path.is_file():
        raise SegmenterError(
            f"No evaluation segmenter at {path}.",
            "Train one with: studio eval train-segmenter --data DIR --out FILE",
        )
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises its own and OS errors
        raise SegmenterError(f"{path} is not a readable safetensors file.", str(exc)) from exc
    if meta.get("format") != FORMAT:
        raise SegmenterError(f"{path} is not a Studio evaluation segmenter.")
    info = json.loads(meta.get("info", "{}"))
    flat = tensors.pop("flat_colors", None)
    net = build(tuple(info.get("widths", WIDTHS)), int(info.get("classes", LABEL_CHANNELS)))
    net.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    net.eval()
    colors = flat.numpy().astype(np.uint8) if flat is not None else None
    return LoadedSegmenter(net, int(info.get("size", SIZE)), info, colors)


def set_threads(count: int) -> None:
    """torch's intra-op threads (1 on the shared 2-core machine)."""
    import torch

    torch.set_num_threads(max(1, int(count)))
