"""The starter diffusion model: a small pixel-space UNet conditioned on a label map and a style id.

The 128² RGB picture is folded 2x2 into channels (space-to-depth), so the UNet runs at 64² on
12 channels; the one-hot label map (25 channels, area-downsampled to 64²) is concatenated to its
input, and the style id (vocab.style_id, 0 = unconditional) enters as the class embedding.

Folder layout (what `save_starter` writes and `load_starter` reads, offline, safetensors only):

    FOLDER/
      starter.json                              {"format": "studio-starter-diffusion",
                                                 "version": 1, ...StarterConfig fields}
      unet/config.json                          diffusers UNet2DModel config
      unet/diffusion_pytorch_model.safetensors  weights (fp16 when shipped)
      README.md                                 model card
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.starter import vocab
from studio.errors import InvalidRequestError, ModelLoadError

FORMAT = "studio-starter-diffusion"
VERSION = 1
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"

# The shipped size: 20 steps with CFG at 128² in about 2.4 s on the 2-core CPU
# (benchmarks/starter_diffusion_speed.py).
SHIPPED_UNET: dict[str, Any] = {
    "block_out_channels": [48, 96, 192],
    "layers_per_block": 1,
    "down_block_types": ["DownBlock2D", "DownBlock2D", "AttnDownBlock2D"],
    "up_block_types": ["AttnUpBlock2D", "UpBlock2D", "UpBlock2D"],
    "attention_head_dim": 32,
    "norm_num_groups": 16,
}


@dataclass(frozen=True)
class StarterConfig:
    """Everything about the starter diffusion besides its weights."""

    native_size: int = 128  # picture side in pixels
    pixel_shuffle: int = 2  # space-to-depth factor: the UNet runs at native_size / pixel_shuffle
    prediction_type: str = "v_prediction"
    beta_schedule: str = "squaredcos_cap_v2"
    num_train_timesteps: int = 1000
    label_channels: int = vocab.LABEL_CHANNELS
    num_styles: int = vocab.NUM_STYLES
    scheduler: str = "dpmsolver++"  # or "ddim"
    default_steps: int = 20
    default_guidance_scale: float = 3.0
    unet: dict[str, Any] = field(default_factory=lambda: dict(SHIPPED_UNET))

    @property
    def unet_size(self) -> int:
        return self.native_size // self.pixel_shuffle

    @property
    def image_channels(self) -> int:
        return 3 * self.pixel_shuffle**2

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StarterConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def tiny_config(**overrides: Any) -> StarterConfig:
    """A few-thousand-parameter starter for tests (32² pictures, UNet at 16²)."""
    unet = {
        "block_out_channels": [8, 16],
        "layers_per_block": 1,
        "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
        "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
        "attention_head_dim": 8,
        "norm_num_groups": 4,
    }
    return StarterConfig(**{"native_size": 32, "unet": unet, **overrides})


def build_unet(cfg: StarterConfig):
    """A randomly initialised diffusers UNet2DModel for `cfg`."""
    from diffusers import UNet2DModel

    return UNet2DModel(
        sample_size=cfg.unet_size,
        in_channels=cfg.image_channels + cfg.label_channels,
        out_channels=cfg.image_channels,
        num_class_embeds=cfg.num_styles,
        **cfg.unet,
    )


@dataclass
class LoadedStarter:
    """A loaded starter: its UNet (eval mode, on `device`), config and model card."""

    unet: Any  # diffusers UNet2DModel
    cfg: StarterConfig
    folder: Path
    device: str
    dtype: Any  # torch.dtype
    card: str = ""


def save_starter(folder: str | Path, unet, cfg: StarterConfig, card_text: str = "", fp16=True):
    """Write the folder layout above; weights as fp16 safetensors unless fp16=False."""
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "starter.json").write_text(
        json.dumps(cfg.to_json(), indent=2, sort_keys=True), encoding="utf-8"
    )
    dtype = torch.float16 if fp16 else torch.float32
    state = {k: v.detach().to("cpu", dtype).contiguous() for k, v in unet.state_dict().items()}
    from safetensors.torch import save_file

    (folder / "unet").mkdir(exist_ok=True)
    (folder / "unet" / "config.json").write_text(
        json.dumps(dict(unet.config), indent=2, sort_keys=True, default=list), encoding="utf-8"
    )
    save_file(state, str(folder / "unet" / WEIGHTS_NAME), metadata={"format": "pt"})
    (folder / "README.md").write_text(card_text or "# Starter diffusion\n", encoding="utf-8")
    return folder


def read_starter_config(folder: str | Path) -> StarterConfig:
    """The StarterConfig in FOLDER/starter.json (ModelLoadError if it is missing or not ours)."""
    path = Path(folder) / "starter.json"
    if not path.is_file():
        raise ModelLoadError(f"{folder} is not a starter diffusion folder (no starter.json).")
    from studio.engine.models.validate import check_starter_config
    from studio.io.safe_json import read_json_file

    try:
        data = read_json_file(path, max_bytes=2**20)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path} is not valid JSON.", str(exc)) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelLoadError(f"{path} does not describe a starter diffusion model.")
    version = data.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelLoadError(f"{path} has no valid version number.", repr(version)[:80])
    if version > VERSION:
        raise ModelLoadError(f"{path} was written by a newer Studio (version {version}).")
    try:
        cfg = StarterConfig.from_json(data)
    except TypeError as exc:
        raise ModelLoadError(f"{path} has settings this Studio cannot read.", str(exc)) from exc
    check_starter_config(cfg, path)
    return cfg


def load_starter(folder: str | Path, device: str = "cpu", dtype=None) -> LoadedStarter:
    """Load a starter folder offline from safetensors (float32 on CPU unless dtype is given)."""
    folder = Path(folder)
    cfg = read_starter_config(folder)  # checked (types, sizes) before torch is even imported
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights = folder / "unet" / WEIGHTS_NAME
    if not weights.is_file():
        raise ModelLoadError(f"{folder.name}: the weights file unet/{WEIGHTS_NAME} is missing.")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise ModelLoadError(f"{folder.name}: the weights file is damaged.", str(exc)) from exc
    try:
        unet = build_unet(cfg)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ModelLoadError(
            f"{folder.name}: starter.json describes a UNet diffusers cannot build.", str(exc)
        ) from exc
    try:
        unet.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelLoadError(
            f"{folder.name}: the weights do not fit the settings in starter.json.", str(exc)[:2000]
        ) from exc
    if dtype is None:
        dtype = torch.float32 if device == "cpu" else torch.float16
    unet.to(device=device, dtype=dtype).eval().requires_grad_(False)
    card_path = folder / "README.md"
    card = card_path.read_text(encoding="utf-8") if card_path.is_file() else ""
    return LoadedStarter(unet, cfg, folder, device, dtype, card)


def labels_to_onehot(labels: np.ndarray, size: int):
    """HxW label values 0..24 -> [25, size, size] float32 tensor of area fractions per class."""
    import torch
    import torch.nn.functional as F

    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise InvalidRequestError(f"A label map is one value per pixel; got shape {labels.shape}.")
    top = int(labels.max(initial=0))
    if top >= vocab.LABEL_CHANNELS:
        raise InvalidRequestError(
            f"The label map holds value {top}; the starter knows Landscape values "
            f"0..{vocab.LABEL_CHANNELS - 1}."
        )
    index = torch.from_numpy(labels.astype(np.int64))
    onehot = F.one_hot(index, vocab.LABEL_CHANNELS).permute(2, 0, 1).float()  # 25xHxW
    if onehot.shape[1:] != (size, size):
        onehot = F.interpolate(onehot[None], size=(size, size), mode="area")[0]
    return onehot
