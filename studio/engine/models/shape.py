"""What a model needs in memory, read from its files without loading it (safetensors headers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

# safetensors dtype -> bytes per element; float kinds are cast to the run's dtype on load
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1}
DTYPE_BYTES.update({"U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1})
FLOAT_KINDS = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"}
# original single-file key prefixes -> diffusers component
SINGLE_FILE_PARTS = (
    ("model.diffusion_model.", "unet"),
    ("first_stage_model.", "vae"),
    ("cond_stage_model.", "text_encoder"),
    ("conditioner.embedders.0.", "text_encoder"),
    ("conditioner.embedders.1.", "text_encoder_2"),
)
PARTS = ("unet", "vae", "text_encoder", "text_encoder_2", "controlnet")


@dataclass(frozen=True)
class Tensors:
    """Element counts of a set of tensors: float ones (cast on load) and the rest (bytes)."""

    float_numel: int = 0
    other_bytes: int = 0
    largest_numel: int = 0

    def bytes_as(self, element_size: int) -> int:
        return self.float_numel * element_size + self.other_bytes

    def __add__(self, other: Tensors) -> Tensors:
        return Tensors(
            self.float_numel + other.float_numel,
            self.other_bytes + other.other_bytes,
            max(self.largest_numel, other.largest_numel),
        )


def read_header(path: Path) -> dict:
    """The checked JSON header of a .safetensors file: name -> {dtype, shape, data_offsets}."""
    from studio.engine.models.checkpoints import read_safetensors_entries
    from studio.errors import ModelLoadError

    try:
        header, _start = read_safetensors_entries(path)
    except ModelLoadError as exc:  # callers here treat an unreadable header as a ValueError
        raise ValueError(exc.message) from exc
    header.pop("__metadata__", None)
    return header


def _count(entries) -> Tensors:
    total = Tensors()
    for entry in entries:
        numel = 1
        for n in entry["shape"]:
            numel *= int(n)
        if entry["dtype"] in FLOAT_KINDS:
            total = total + Tensors(numel, 0, numel)
        else:
            total = total + Tensors(0, numel * DTYPE_BYTES.get(entry["dtype"], 4), 0)
    return total


def _component_files(folder: Path) -> list[Path]:
    """The weight files diffusers loads for a component (not the .fp16 variants beside them)."""
    files = sorted(folder.glob("*.safetensors"))
    plain = [f for f in files if len(f.name.split(".")) == 2 or "-of-" in f.name]
    return plain or files


@lru_cache(maxsize=64)
def _folder_tensors(folder: str, stamp: float) -> dict[str, Tensors]:
    out = {}
    for part in PARTS:
        sub = Path(folder) / part
        if sub.is_dir():
            out[part] = sum(
                (_count(read_header(f).values()) for f in _component_files(sub)), Tensors()
            )
    return out


@lru_cache(maxsize=64)
def _file_tensors(path: str, stamp: float) -> dict[str, Tensors]:
    groups: dict[str, list] = {}
    for name, entry in read_header(Path(path)).items():
        part = next((p for prefix, p in SINGLE_FILE_PARTS if name.startswith(prefix)), "other")
        groups.setdefault(part, []).append(entry)
    return {part: _count(entries) for part, entries in groups.items()}


def model_tensors(path: str | Path) -> dict[str, Tensors]:
    """Per component, the tensors a model's files hold (a folder or one .safetensors file)."""
    path = Path(path)
    stamp = path.stat().st_mtime
    if path.is_dir():
        if (path / "model_index.json").is_file():
            return _folder_tensors(str(path), stamp)
        files = _component_files(path)  # a component folder (ControlNet, TAESD)
        return {"model": sum((_count(read_header(f).values()) for f in files), Tensors())}
    if path.suffix.lower() != ".safetensors":
        return {"model": Tensors(path.stat().st_size // 4)}  # a pickle: assume fp32 elements
    return _file_tensors(str(path), stamp)


@dataclass(frozen=True)
class Architecture:
    """The widths that set activation memory: UNet levels, VAE levels, text widths."""

    unet_channels: tuple[int, ...]
    unet_attention: tuple[bool, ...]  # per UNet level: has transformer blocks
    vae_channels: tuple[int, ...]
    vae_tile: int  # pixels: the VAE's sample_size (tiled decoding works in tiles of this size)
    force_upcast: bool
    text_hidden: tuple[int, ...] = ()
    tensors: dict[str, Tensors] = field(default_factory=dict)

    @property
    def vae_scale(self) -> int:
        return 2 ** (len(self.vae_channels) - 1)


def _json(path: Path) -> dict:
    from studio.io.safe_json import read_json_file

    try:
        data = read_json_file(path, max_bytes=4 * 2**20)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def config_root(path: Path) -> Path:
    """Where a model's component configs live: itself, or the config folder a single file uses."""
    if path.is_dir():
        return path
    from studio.engine.models.configs import SHIPPED, config_name, sidecar_folder
    from studio.engine.models.registry import inspect_folder

    sidecar = sidecar_folder(path)
    return sidecar if sidecar is not None else SHIPPED / config_name(inspect_folder(path))


def architecture(path: str | Path) -> Architecture:
    """Read the widths from the configs and the tensor counts from the weight headers."""
    path = Path(path)
    root = config_root(path)
    unet = _json(root / "unet" / "config.json")
    vae = _json(root / "vae" / "config.json")
    channels = tuple(unet.get("block_out_channels") or (320, 640, 1280, 1280))
    downs = unet.get("down_block_types") or ["CrossAttnDownBlock2D"] * len(channels)
    texts = []
    for part in ("text_encoder", "text_encoder_2"):
        width = _json(root / part / "config.json").get("hidden_size")
        if width:
            texts.append(int(width))
    return Architecture(
        unet_channels=channels,
        unet_attention=tuple("CrossAttn" in kind for kind in downs),
        vae_channels=tuple(vae.get("block_out_channels") or (128, 256, 512, 512)),
        vae_tile=int(vae.get("sample_size") or 512),
        force_upcast=bool(vae.get("force_upcast", True)),
        text_hidden=tuple(texts),
        tensors=model_tensors(path),
    )
