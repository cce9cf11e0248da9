"""Seam-free inpainting in image space: crop around the mask, fill, feather, paste back, match."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MASKED_CONTENT = ("original", "fill", "latent noise")


@dataclass(frozen=True)
class Crop:
    """The region of the picture that is repainted: box (x0, y0, x1, y1) in picture pixels."""

    box: tuple[int, int, int, int]
    image: np.ndarray  # hxwx3 uint8 at the model's size
    mask: np.ndarray  # hxw bool at the model's size (True = repaint)


def binary(mask: np.ndarray) -> np.ndarray:
    """HxW uint8 mask -> bool (True = repaint)."""
    return np.asarray(mask) >= 128


def _resize(array: np.ndarray, width: int, height: int, nearest: bool = False) -> np.ndarray:
    from PIL import Image

    if array.shape[1] == width and array.shape[0] == height:
        return array
    resample = Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS
    return np.asarray(Image.fromarray(array).resize((width, height), resample))


def crop_box(mask: np.ndarray, padding: int, aspect: float) -> tuple[int, int, int, int]:
    """Bounding box of the mask grown by `padding` px, then widened to the output aspect ratio."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    x0, x1 = max(xs.min() - padding, 0), min(xs.max() + 1 + padding, w)
    y0, y1 = max(ys.min() - padding, 0), min(ys.max() + 1 + padding, h)
    bw, bh = x1 - x0, y1 - y0
    if bw / bh < aspect:  # too narrow: grow width around the centre
        bw = min(int(round(bh * aspect)), w)
    else:
        bh = min(int(round(bw / aspect)), h)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    x0 = int(min(max(round(cx - bw / 2), 0), w - bw))
    y0 = int(min(max(round(cy - bh / 2), 0), h - bh))
    return int(x0), int(y0), int(x0 + bw), int(y0 + bh)


def fill_masked(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """'fill': replace masked pixels by a smooth spread of the surrounding colours."""
    from scipy import ndimage

    out = image.astype(np.float32)
    known = ~mask
    if not known.any():
        return np.full_like(image, 127)
    # nearest known pixel for every masked one, then blur only inside the mask
    _, (iy, ix) = ndimage.distance_transform_edt(mask, return_indices=True)
    out = out[iy, ix]
    blurred = ndimage.gaussian_filter(out, sigma=(8, 8, 0))
    out[mask] = blurred[mask]
    return np.clip(out, 0, 255).astype(np.uint8)


def noise_masked(image: np.ndarray, mask: np.ndarray, seed: int) -> np.ndarray:
    """'latent noise': masked pixels become seeded random colours (nothing original leaks)."""
    rng = np.random.default_rng(seed)
    out = image.copy()
    out[mask] = rng.integers(0, 256, (int(mask.sum()), 3), dtype=np.uint8)
    return out


def prepare(
    image: np.ndarray,
    mask: np.ndarray,
    width: int,
    height: int,
    padding: int | None,
    masked_content: str,
    seed: int,
) -> Crop:
    """Cut out what the model repaints and scale it to the model's size (width x height)."""
    region = binary(mask)
    if padding is None or not region.any():
        box = (0, 0, image.shape[1], image.shape[0])
    else:
        box = crop_box(region, padding, width / height)
    x0, y0, x1, y1 = box
    part, part_mask = image[y0:y1, x0:x1], region[y0:y1, x0:x1]
    if masked_content == "fill":
        part = fill_masked(part, part_mask)
    elif masked_content == "latent noise":
        part = noise_masked(part, part_mask, seed)
    scaled_mask = _resize(part_mask.astype(np.uint8) * 255, width, height, nearest=True) >= 128
    return Crop(box, _resize(np.ascontiguousarray(part), width, height), scaled_mask)


def feather(mask: np.ndarray, width: int) -> np.ndarray:
    """Blend weights (HxW float) that are 1 deep inside the mask, fall to 0 at its edge, 0 outside.

    Feathering only inward keeps every pixel outside the painted mask exactly as it was.
    """
    from scipy import ndimage

    if width <= 0:
        return mask.astype(np.float32)
    inside = ndimage.distance_transform_edt(mask)  # px to the nearest unmasked pixel
    t = np.clip(inside / float(width), 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)  # smoothstep


def match_colours(generated: np.ndarray, original: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shift the repainted pixels' per-channel mean and spread to those of the surroundings."""
    from scipy import ndimage

    ring = ndimage.binary_dilation(mask, iterations=16) & ~mask
    if not ring.any() or not mask.any():
        return generated
    out = generated.astype(np.float32)
    src, ref = out[mask], original[ring].astype(np.float32)
    scale = (ref.std(0) + 1e-3) / (src.std(0) + 1e-3)
    out[mask] = (src - src.mean(0)) * np.clip(scale, 0.5, 2.0) + ref.mean(0)
    return np.clip(out, 0, 255).astype(np.uint8)


def paste_back(
    picture: np.ndarray,
    mask: np.ndarray,
    crop: Crop,
    generated: np.ndarray,
    blur: int,
    color_match: bool = False,
) -> np.ndarray:
    """Put the generated crop back into the full picture; outside the mask nothing changes."""
    x0, y0, x1, y1 = crop.box
    region = binary(mask)
    patch = _resize(generated, x1 - x0, y1 - y0)
    out = picture.copy()
    local = region[y0:y1, x0:x1]
    if color_match:
        patch = match_colours(patch, picture[y0:y1, x0:x1], local)
    alpha = feather(local, blur)[:, :, None]
    blended = alpha * patch.astype(np.float32) + (1 - alpha) * picture[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = np.clip(np.round(blended), 0, 255).astype(np.uint8)
    return out


def seam_energy(image: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared colour jump across the mask border (4-neighbour pairs in/out of the mask)."""
    region = binary(mask)
    img = image.astype(np.float32)
    jumps = []
    for axis in (0, 1):
        a = [slice(None)] * 2
        b = [slice(None)] * 2
        a[axis], b[axis] = slice(None, -1), slice(1, None)
        cross = region[tuple(a)] != region[tuple(b)]
        diff = ((img[tuple(a)] - img[tuple(b)]) ** 2).sum(-1)
        jumps.append(diff[cross])
    values = np.concatenate(jumps)
    return float(values.mean()) if values.size else 0.0


def outpaint(
    picture: np.ndarray, left: int, top: int, right: int, bottom: int, overlap: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Grow the canvas by the given px on each side; return (grown picture, mask to inpaint).

    The new band starts as the picture's edge pixels stretched outward (a neutral start for
    'original' content) and the mask reaches `overlap` px into the old picture so the join is
    repainted and feathered rather than left as a hard edge.
    """
    sides = (left, top, right, bottom)
    if min(sides) < 0 or max(sides) == 0:
        raise ValueError(f"grow by non-negative amounts, at least one above 0; got {sides}")
    grown = np.pad(picture, ((top, bottom), (left, right), (0, 0)), mode="edge")
    h, w = picture.shape[:2]
    inner = np.zeros(grown.shape[:2], bool)
    inner[top : top + h, left : left + w] = True
    if left:
        inner[:, left : left + overlap] = False
    if top:
        inner[top : top + overlap, :] = False
    if right:
        inner[:, left + w - overlap : left + w] = False
    if bottom:
        inner[top + h - overlap : top + h, :] = False
    mask = np.where(inner, 0, 255).astype(np.uint8)
    return grown, mask
