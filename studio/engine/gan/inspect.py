"""What GAN a weight file holds, from key names and shapes only (for the model registry)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.engine.gan.weights import read_sidecar
from studio.errors import ModelLoadError

SPADE_KEYS = ("fc.weight", "conv_img.weight", "head_0.norm_0.mlp_shared.0.weight")
OFFICIAL_SPACES = {184: "cocostuff", 151: "ade20k", 36: "cityscapes"}


@dataclass(frozen=True)
class GanFileInfo:
    """What a GAN weight file is: its kind and, for SPADE, the label space it expects."""

    kind: str  # "spade" | "spade-encoder" | "pix2pix-resnet" | "pix2pix-unet" | "unknown"
    label_space: str | None = None
    problem: str | None = None  # plain words when the file cannot run as it is


def _shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Key -> shape without reading tensor data (safetensors header, or a memory-mapped pickle)."""
    if path.suffix.lower() == ".safetensors":
        from studio.engine.models.checkpoints import read_safetensors_header

        return read_safetensors_header(path)[0]  # the header is checked before it is trusted
    from studio.engine.gan.weights import read_state_dict

    return {k: tuple(v.shape) for k, v in read_state_dict(path, mmap=True).items()}


def classify(path: str | Path) -> GanFileInfo | None:
    """The GAN family of a weight file, or None if it is not one Studio's GAN engine runs."""
    path = Path(path)
    try:
        shapes = _shapes(path)
    except (ModelLoadError, OSError, ValueError) as exc:
        return GanFileInfo("unknown", problem=getattr(exc, "message", str(exc)))
    keys = {k.removeprefix("module.") for k in shapes}
    shapes = {k.removeprefix("module."): v for k, v in shapes.items()}
    if all(k in keys for k in SPADE_KEYS):
        shape = shapes["head_0.norm_0.mlp_shared.0.weight"]
        channels = shape[1] if len(shape) > 1 else None
        named = read_sidecar(path).get("label_set")
        if named is not None and not isinstance(named, str):
            return GanFileInfo("spade", None, "its JSON sidecar's label_set is not a name")
        space = named or OFFICIAL_SPACES.get(channels)
        problem = None if space else "it needs a JSON sidecar naming its label set"
        return GanFileInfo("spade", space, problem)
    if "fc_mu.weight" in keys and any(k.startswith("layer1.0.") for k in keys):
        return GanFileInfo("spade-encoder")
    if "model.model.0.weight" in keys:
        return GanFileInfo("pix2pix-unet")
    if "model.1.weight" in keys and any(".conv_block." in k or ".block." in k for k in keys):
        return GanFileInfo("pix2pix-resnet")
    return None
