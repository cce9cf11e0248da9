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


SEAM_BAND = 8  # px into the mask a transition may take (covers the default 4-8 px feather)
SEAM_REACH = 3  # px outside the mask the band starts (catches blends that straddle the border)
SEAM_REFERENCE = 6  # width of the reference bands beyond the seam band on each side


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """HxW float: px to the mask border, positive inside the (binary) mask, negative outside."""
    from scipy import ndimage

    region = binary(mask)
    inside = ndimage.distance_transform_edt(region)
    outside = ndimage.distance_transform_edt(~region)
    return np.where(region, inside, -outside)


def seam_profile(image: np.ndarray, mask: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Mean squared colour step of 4-neighbour pairs, by ring k = lo..hi (the pair's midpoint
    rounded to the nearest px of signed distance to the mask border; k < 0 outside)."""
    dist = signed_distance(mask)
    img = image.astype(np.float64)
    sums, counts = np.zeros(hi - lo + 1), np.zeros(hi - lo + 1)
    for axis in (0, 1):
        a = [slice(None)] * 2
        b = [slice(None)] * 2
        a[axis], b[axis] = slice(None, -1), slice(1, None)
        energy = ((img[tuple(a)] - img[tuple(b)]) ** 2).sum(-1)
        ring = np.floor((dist[tuple(a)] + dist[tuple(b)]) / 2 + 0.5).astype(int)
        keep = (ring >= lo) & (ring <= hi)
        np.add.at(sums, ring[keep] - lo, energy[keep])
        np.add.at(counts, ring[keep] - lo, 1)
    if not counts.all():
        missing = [k for k, n in zip(range(lo, hi + 1), counts, strict=True) if not n]
        raise ValueError(
            f"The mask border has no rings at {missing} px: the mask must reach {hi} px inside "
            f"and the picture {-lo} px outside it for the seam to be measured."
        )
    return sums / counts


def seam_score(images: list[np.ndarray], mask: np.ndarray) -> float:
    """How visible the mask border is: 1.0 = no seam, higher = a step the sides do not explain.

    Gradient energy is profiled ring by ring across the border (averaged over the images, so
    content that happens to peak near the border in one seed averages out). Each ring of the
    seam band (SEAM_REACH px outside to SEAM_BAND px inside, wide enough to hold a whole
    feather) is divided by the energy of the result's own reference band on its side, just
    beyond the seam band; the score is the largest ratio. A hard jump at the border peaks;
    a picture blurred everywhere lowers the references too, so blur alone does not win; a
    band that is flatter than its sides (a feather's fade) scores 1, never below.
    """
    lo, hi = -SEAM_REACH - SEAM_REFERENCE, SEAM_BAND + SEAM_REFERENCE
    profile = np.mean([seam_profile(image, mask, lo, hi) for image in images], axis=0)
    ring = dict(zip(range(lo, hi + 1), profile, strict=True))
    outside = np.mean([ring[k] for k in range(lo, -SEAM_REACH)])
    inside = np.mean([ring[k] for k in range(SEAM_BAND + 1, hi + 1)])
    expected = {k: outside if k < 0 else inside if k > 0 else (inside + outside) / 2 for k in ring}
    band = range(-SEAM_REACH + 1, SEAM_BAND + 1)
    return max(1.0, float(max(ring[k] / max(expected[k], 1e-9) for k in band)))


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
