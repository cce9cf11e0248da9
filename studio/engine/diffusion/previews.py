"""Cheap step previews: the predicted clean latent (x0) mapped linearly to RGB."""

from __future__ import annotations

import numpy as np

# Rows = latent channels, columns = R, G, B; applied to model-space latents, result in [-1, 1].
# Values from ComfyUI's comfy/latent_formats.py (latent_rgb_factors; SD 1.5 has no bias).
LATENT_RGB_FACTORS: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "sd1": (
        np.array(
            [
                [0.3512, 0.2297, 0.3227],
                [0.3250, 0.4974, 0.2350],
                [-0.2829, 0.1762, 0.2721],
                [-0.2120, -0.2616, -0.7177],
            ],
            dtype=np.float32,
        ),
        np.zeros(3, dtype=np.float32),
    ),
    "sdxl": (
        np.array(
            [
                [0.3651, 0.4232, 0.4341],
                [-0.2533, -0.0042, 0.1068],
                [0.1076, 0.1111, -0.0362],
                [-0.3165, -0.2492, -0.2188],
            ],
            dtype=np.float32,
        ),
        np.array([0.1084, -0.0175, -0.0011], dtype=np.float32),
    ),
}
LATENT_RGB_FACTORS["sd2"] = LATENT_RGB_FACTORS["sd1"]
# 16-channel families (also from ComfyUI's latent_formats.py), rows = channels 0..15.
LATENT_RGB_FACTORS["sd3"] = (
    np.array(
        [
            [-0.0922, -0.0175, 0.0749],
            [0.0311, 0.0633, 0.0954],
            [0.1994, 0.0927, 0.0458],
            [0.0856, 0.0339, 0.0902],
            [0.0587, 0.0272, -0.0496],
            [-0.0006, 0.1104, 0.0309],
            [0.0978, 0.0306, 0.0427],
            [-0.0042, 0.1038, 0.1358],
            [-0.0194, 0.0020, 0.0669],
            [-0.0488, 0.0130, -0.0268],
            [0.0922, 0.0988, 0.0951],
            [-0.0278, 0.0524, -0.0542],
            [0.0332, 0.0456, 0.0895],
            [-0.0069, -0.0030, -0.0810],
            [-0.0596, -0.0465, -0.0293],
            [-0.1448, -0.1463, -0.1189],
        ],
        dtype=np.float32,
    ),
    np.array([0.2394, 0.2135, 0.1925], dtype=np.float32),
)
LATENT_RGB_FACTORS["flux"] = (
    np.array(
        [
            [-0.0346, 0.0244, 0.0681],
            [0.0034, 0.0210, 0.0687],
            [0.0275, -0.0668, -0.0433],
            [-0.0174, 0.0160, 0.0617],
            [0.0859, 0.0721, 0.0329],
            [0.0004, 0.0383, 0.0115],
            [0.0405, 0.0861, 0.0915],
            [-0.0236, -0.0185, -0.0259],
            [-0.0245, 0.0250, 0.1180],
            [0.1008, 0.0755, -0.0421],
            [-0.0515, 0.0201, 0.0011],
            [0.0428, -0.0012, -0.0036],
            [0.0817, 0.0765, 0.0749],
            [-0.1264, -0.0522, -0.1103],
            [-0.0280, -0.0881, -0.0499],
            [-0.1262, -0.0982, -0.0778],
        ],
        dtype=np.float32,
    ),
    np.array([-0.0329, -0.0718, -0.0851], dtype=np.float32),
)


def unpack_flux_latent(packed: np.ndarray, height: int, width: int) -> np.ndarray:
    """Flux's packed (H/16 * W/16) x 64 latent of one image -> 16 x H/8 x W/8 (2x2 patches)."""
    h, w = height // 16, width // 16
    if packed.shape != (h * w, 64):
        raise ValueError(f"expected a packed latent of shape {(h * w, 64)}, got {packed.shape}")
    patches = packed.reshape(h, w, 16, 2, 2)  # channel, then the 2x2 patch, row-major
    return patches.transpose(2, 0, 3, 1, 4).reshape(16, h * 2, w * 2)


def latent_to_rgb(latent: np.ndarray, family: str) -> np.ndarray:
    """CxHxW float latent (one image) -> HxWx3 uint8 preview at latent resolution."""
    factors, bias = LATENT_RGB_FACTORS.get(family, LATENT_RGB_FACTORS["sd1"])
    if latent.shape[0] != factors.shape[0]:
        raise ValueError(f"expected {factors.shape[0]} latent channels, got {latent.shape[0]}")
    rgb = np.tensordot(latent.astype(np.float32, copy=False), factors, axes=([0], [0])) + bias
    rgb = np.nan_to_num(rgb, nan=-1.0, posinf=1.0, neginf=-1.0)  # a broken step shows black
    return np.clip((rgb + 1.0) * 127.5, 0, 255).astype(np.uint8)


def upscale(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an HxWx3 uint8 preview to the output size (bicubic)."""
    from PIL import Image

    if image.shape[1] == width and image.shape[0] == height:
        return image
    resized = Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(resized)
