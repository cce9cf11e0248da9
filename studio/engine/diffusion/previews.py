"""Cheap step previews: the predicted clean latent (x0) mapped linearly to RGB."""

from __future__ import annotations

import numpy as np

# Rows = latent channels, columns = R, G, B; applied to model-space latents, result in [-1, 1].
# Values from ComfyUI's latent_formats (SD 1.5 has no bias); see shared reference models.md §3.4.
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


def latent_to_rgb(latent: np.ndarray, family: str) -> np.ndarray:
    """CxHxW float latent (one image) -> HxWx3 uint8 preview at latent resolution."""
    factors, bias = LATENT_RGB_FACTORS.get(family, LATENT_RGB_FACTORS["sd1"])
    if latent.shape[0] != factors.shape[0]:
        raise ValueError(f"expected {factors.shape[0]} latent channels, got {latent.shape[0]}")
    rgb = np.tensordot(latent.astype(np.float32, copy=False), factors, axes=([0], [0])) + bias
    return np.clip((rgb + 1.0) * 127.5, 0, 255).astype(np.uint8)


def upscale(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an HxWx3 uint8 preview to the output size (bicubic)."""
    from PIL import Image

    if image.shape[1] == width and image.shape[0] == height:
        return image
    resized = Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(resized)
