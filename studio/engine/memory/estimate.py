"""Peak memory of a job before it runs (weights + activations) against the device's free memory.

Activation terms are element counts of the largest feature maps times coefficients measured on
real diffusers models on CPU (peak RSS of tests/engine/memory/memory_probe.py; tolerance in
tests/engine/memory/test_memory.py). No torch is needed except to ask a GPU for its free memory.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field, replace

from studio.engine.memory.presets import MemoryPlan, resolve
from studio.engine.models.shape import Architecture, architecture, model_tensors
from studio.engine.requests import GenerationRequest

MIB = 2**20
UNET_K = 60.0  # peak bytes / (N x bytes x largest attention-level feature map); measured 42-59
UNET_CONV_LEVEL = 0.4  # a level without transformer blocks weighs this much of one with them
VAE_K = 4.0  # decode peak / (B x bytes x (in + out channels) x area of the full-size block)
ENCODE_K = 3.0  # encode peak / (B x bytes x (3 + 2 c0) x H x W)
TILE_K = 0.1  # tiled decode: each tile (up to 20) leaves ~10 % of one tile's peak behind
RUNTIME_BYTES = 24 * MIB  # torch/oneDNN scratch of a run in a warm app, measured ~10-20 MiB


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a job needs at its peak, split into what is loaded and what it computes."""

    weights: int  # model weights resident on the device during the job
    activations: int  # the largest working set of one phase (UNet step, VAE decode, encode)
    loaded: int = 0  # of `weights`, bytes already in memory (a model the cache holds)
    phases: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.weights + self.activations

    @property
    def needed(self) -> int:
        """What must still be found in free memory."""
        return self.total - self.loaded


def element_size(dtype: str) -> int:
    return 4 if dtype == "float32" else 2


def _cfg_batch(request: GenerationRequest, variant: str) -> int:
    few = request.few_step or ("turbo" if "turbo" in variant or "lcm" in variant else "off")
    if few in ("turbo", "lcm"):
        return request.batch_size  # no unconditional half (LCM embeds the guidance)
    return request.batch_size * (2 if request.guidance_scale > 1.0 else 1)


def unet_bytes(arch: Architecture, width: int, height: int, batch: int, size: int) -> int:
    """One UNet step at `batch` (x2 with CFG) of `width`x`height` pixels, elements of `size`."""
    scale = arch.vae_scale
    h, w = math.ceil(height / scale), math.ceil(width / scale)
    largest = 0.0
    for i, (channels, attention) in enumerate(
        zip(arch.unet_channels, arch.unet_attention, strict=False)
    ):
        area = math.ceil(h / 2**i) * math.ceil(w / 2**i)
        largest = max(largest, channels * area * (1.0 if attention else UNET_CONV_LEVEL))
    return int(UNET_K * batch * size * largest)


def _decoder_units(arch: Architecture, height: int, width: int) -> float:
    """max over decoder blocks of (in + out channels) x the area it works at (elements)."""
    chans = tuple(reversed(arch.vae_channels))
    n = len(chans)
    best = 0.0
    for j, out in enumerate(chans):
        inp = chans[max(j - 1, 0)]
        area = math.ceil(height / 2 ** (n - 1 - j)) * math.ceil(width / 2 ** (n - 1 - j))
        best = max(best, (inp + out) * area)
    return best


def vae_decode_bytes(arch: Architecture, width: int, height: int, batch: int, size: int,
                     tiled: bool) -> int:  # fmt: skip
    """Decoding `batch` latents to `width`x`height` pictures (tiled: tiles of vae_tile px)."""
    tile = arch.vae_tile
    if not tiled or (width <= tile and height <= tile):
        return int(VAE_K * batch * size * _decoder_units(arch, height, width))
    stride = tile * 3 // 4  # diffusers overlaps tiles by a quarter
    tiles = math.ceil(height / stride) * math.ceil(width / stride)
    one = VAE_K * batch * size * _decoder_units(arch, tile, tile)
    picture = 4 * batch * size * 3 * width * height  # tiles kept for blending + the result
    return int(one * (1 + TILE_K * min(tiles, 20)) + picture)


def vae_encode_bytes(arch: Architecture, width: int, height: int, batch: int, size: int) -> int:
    return int(ENCODE_K * batch * size * (3 + 2 * arch.vae_channels[0]) * width * height)


def _record_bytes(request: GenerationRequest, arch: Architecture) -> int:
    """The step recorder's full-size frames (3 uint8 RGB + fp16 latent per step), capped."""
    area = (request.width // arch.vae_scale) * (request.height // arch.vae_scale)
    per_step = area * (3 * 3 + 4 * 2)
    return min(request.record_cap_bytes, per_step * request.num_inference_steps)


def _weights(arch: Architecture, dtype: str, plan: MemoryPlan, extra: int) -> dict[str, int]:
    size = element_size(dtype)
    parts = {name: t.bytes_as(size) for name, t in arch.tensors.items()}
    if dtype == "float16" and arch.force_upcast and "vae" in parts:
        parts["vae_fp32"] = parts["vae"]  # SDXL pipelines upcast the VAE for the decode
    if extra:
        parts["extras"] = extra
    if plan.offload == "model":  # only the running component is on the device
        return {"largest part": max(parts.values(), default=0)}
    if plan.offload == "sequential":  # one layer at a time
        largest = max((t.largest_numel for t in arch.tensors.values()), default=0)
        return {"largest layer": 8 * largest * size}
    return parts


def estimate(
    request: GenerationRequest,
    plan: MemoryPlan,
    dtype: str,
    arch: Architecture | None = None,
    loaded: int = 0,
    variant: str = "",
) -> MemoryEstimate:
    """Peak bytes of `request` run with `plan` in `dtype`; `loaded` bytes are already in memory."""
    arch = arch or architecture(request.model_path)
    size = element_size(dtype)
    vae_size = 4 if (size == 2 and arch.force_upcast) else size
    extra = sum(_extra_bytes(p, size) for p in _extra_paths(request))
    weights = sum(_weights(arch, dtype, plan, extra).values())
    w, h = request.width, request.height
    decode_batch = 1 if plan.vae_slicing else request.batch_size
    phases = {
        "unet": unet_bytes(arch, w, h, _cfg_batch(request, variant), size),
        "vae decode": vae_decode_bytes(arch, w, h, decode_batch, vae_size, plan.vae_tiling),
    }
    if request.init_image is not None:
        phases["vae encode"] = vae_encode_bytes(arch, w, h, request.batch_size, vae_size)
    if request.controlnet_path:
        phases["unet"] = int(phases["unet"] * 1.5)  # ControlNet: half a UNet's residuals more
    images = request.batch_size * request.batch_count * w * h * 3 * 5  # float32 + uint8 copies
    fixed = RUNTIME_BYTES + _record_bytes(request, arch) + images
    activations = max(phases.values()) + fixed
    return MemoryEstimate(weights, activations, min(loaded, weights), phases)


def _extra_paths(request: GenerationRequest) -> list[str]:
    out = [p for p in (request.controlnet_path, request.refiner_path) if p]
    out += [p for p, _ in request.loras]
    if request.preview_decoder and request.preview_decoder != "vae":
        out.append(request.preview_decoder)
    return out


def _extra_bytes(path: str, size: int) -> int:
    try:
        return sum(t.bytes_as(size) for t in model_tensors(path).values())
    except (OSError, ValueError):
        return 0


def device_memory(device: str) -> tuple[int, int]:
    """(free, total) bytes: CUDA's mem_get_info, else the machine's available RAM (psutil)."""
    if device == "cuda":
        import torch

        free, total = torch.cuda.mem_get_info()
        return int(free), int(total)
    import psutil

    vm = psutil.virtual_memory()
    return int(vm.available), int(vm.total)


def torch_has_sdpa() -> bool:
    """Whether torch has fused attention, without importing it. While the preload thread is
    still importing torch, sys.modules holds a half-built module (no `nn` yet): every torch
    Studio accepts (>= 2.10) has it, so say yes instead of raising on the GUI thread."""
    torch = sys.modules.get("torch")
    functional = getattr(getattr(torch, "nn", None), "functional", None)
    return functional is None or hasattr(functional, "scaled_dot_product_attention")


def plan_for(request: GenerationRequest, device: str, total: int) -> MemoryPlan:
    return resolve(request.memory, device, total, torch_has_sdpa())


def with_plan(request: GenerationRequest, plan: MemoryPlan) -> GenerationRequest:
    """The request with its memory switches fixed to `plan` (keeping preset and retry choice)."""
    memory = replace(
        request.memory,
        vae_tiling=plan.vae_tiling,
        vae_slicing=plan.vae_slicing,
        attention_slicing=plan.attention_slicing,
        offload=plan.offload,
    )
    return replace(request, memory=memory)
