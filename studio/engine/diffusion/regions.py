"""Regional prompts: each region's words reach only its pixels, through masked cross-attention.

The UNet's text context becomes [global prompt | region 1 words | region 2 words …]. An
attention processor on every cross-attention layer (all UNet levels, and the ControlNet's) adds
log(mask) to the scores of each region's tokens, the mask being that region's soft-edged map at
the layer's resolution: outside its region a region's tokens get no attention, inside they
compete with the global prompt, near the edge they fade. The unconditional half of the batch
gets the negative prompt in every slot (the same keys again, so nearly the plain negative).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

MASK_FLOOR = 1e-6  # log(0) would be -inf: a region's tokens are then just vanishingly weak
EDGE = 3  # soft edge: box blur of this many latent pixels (24 image pixels)


def latent_masks(region_map: np.ndarray, count: int, box: tuple | None, size: tuple[int, int]):
    """count x h x w float masks in [0, 1] at latent size (h, w) = size; `box` crops first."""
    import torch
    import torch.nn.functional as F

    if box is not None:
        x0, y0, x1, y1 = box
        region_map = region_map[y0:y1, x0:x1]
    ids = torch.from_numpy(np.ascontiguousarray(region_map).astype(np.int64))
    onehot = torch.stack([(ids == k + 1).float() for k in range(count)])[None]
    masks = F.interpolate(onehot, size=size, mode="bilinear", antialias=True, align_corners=False)
    masks = F.avg_pool2d(masks, EDGE, stride=1, padding=EDGE // 2, count_include_pad=False)
    return masks[0].clamp(0.0, 1.0)


class RegionAttention:
    """Cross-attention with each region's token slot masked to that region's pixels."""

    def __init__(self, masks: Any, slots: Sequence[tuple[int, int]], tokens: int) -> None:
        self.masks = masks  # K x h x w, latent resolution
        self.slots = list(slots)  # (start, end) token range of each region
        self.tokens = tokens  # total context length this processor expects
        self.record: list[dict[str, Any]] | None = None  # tests: attention mass per call
        self._bias: dict[int, Any] = {}

    def bias(self, n: int, device: Any, dtype: Any) -> Any:
        """N x T additive scores for a layer with n query pixels."""
        import torch
        import torch.nn.functional as F

        if n not in self._bias:
            h0, w0 = self.masks.shape[-2:]
            factor = round(math.sqrt(h0 * w0 / n))
            h, w = math.ceil(h0 / factor), math.ceil(w0 / factor)
            if h * w != n:
                raise ValueError(f"cannot place {n} pixels on a {h0}x{w0} latent")
            small = F.interpolate(self.masks[None], size=(h, w), mode="bilinear", antialias=True)
            small = small[0].reshape(len(self.slots), n)
            bias = torch.zeros(n, self.tokens)
            for k, (start, end) in enumerate(self.slots):
                bias[:, start:end] = small[k].clamp_min(MASK_FLOOR).log()[:, None]
            self._bias[n] = (bias, small)
        bias, small = self._bias[n]
        return bias.to(device, dtype), small

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, *args, **kwargs):
        import torch.nn.functional as F

        context = encoder_hidden_states
        if context is None or context.shape[1] != self.tokens or hidden_states.ndim != 3:
            raise ValueError("region attention met a layer it was not set up for")
        residual = hidden_states
        batch, n, _ = hidden_states.shape
        if attn.norm_cross:
            context = attn.norm_encoder_hidden_states(context)
        q, k, v = attn.to_q(hidden_states), attn.to_k(context), attn.to_v(context)
        heads = attn.heads
        q, k, v = (
            x.view(batch, -1, heads, x.shape[-1] // heads).transpose(1, 2) for x in (q, k, v)
        )
        bias, small = self.bias(n, q.device, q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias[None, None])
        if self.record is not None:
            self._measure(q, k, bias, small, attn.scale)
        out = out.transpose(1, 2).reshape(batch, n, -1).to(q.dtype)
        out = attn.to_out[1](attn.to_out[0](out))
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor

    def _measure(self, q, k, bias, small, scale) -> None:
        """Attention mass each region's tokens get, inside and outside that region."""
        probs = ((q @ k.transpose(-1, -2)) * scale + bias).softmax(-1).float()
        probs = probs[probs.shape[0] // 2 :].mean(dim=(0, 1))  # the conditional half, all heads
        entry: dict[str, Any] = {"pixels": int(probs.shape[0]), "inside": [], "outside": []}
        for r, (start, end) in enumerate(self.slots):
            mass = probs[:, start:end].sum(-1)
            inside, outside = small[r] > 0.99, small[r] < 1e-3
            entry["inside"].append(float(mass[inside].mean()) if inside.any() else None)
            entry["outside"].append(float(mass[outside].mean()) if outside.any() else None)
        self.record.append(entry)


def _cross_attention_names(model: Any) -> list[str]:
    return [name for name in model.attn_processors if ".attn2." in name]


@contextlib.contextmanager
def installed(models: Sequence[Any], processor: RegionAttention) -> Iterator[None]:
    """The processor on every cross-attention layer of `models` (UNet, ControlNet) meanwhile."""
    saved = []
    for model in models:
        original = dict(model.attn_processors)
        names = set(_cross_attention_names(model))
        model.set_attn_processor({n: processor if n in names else p for n, p in original.items()})
        saved.append((model, original))
    try:
        yield
    finally:
        for model, original in saved:
            model.set_attn_processor(original)


def region_text(pipe: Any, request: Any, encode: Any) -> tuple[dict[str, Any], list]:
    """Pipeline kwargs with [global | regions] contexts, and each region's token slot.

    `encode(prompt, negative, min_chunks)` gives one prompt pair's kwargs (weighting.py)."""
    import torch

    base = encode(request.prompt, request.negative_prompt, 1)
    pos, neg = [base["prompt_embeds"]], [base["negative_prompt_embeds"]]
    slots, start = [], pos[0].shape[1]
    for _name, words in request.regions:
        pair = encode(words, request.negative_prompt, 1)
        pos.append(pair["prompt_embeds"])
        neg.append(pair["negative_prompt_embeds"])
        slots.append((start, start + pos[-1].shape[1]))
        start += pos[-1].shape[1]
    kwargs = dict(base)  # pooled embeddings (SDXL) stay the global prompt's
    kwargs["prompt_embeds"] = torch.cat(pos, dim=1)
    kwargs["negative_prompt_embeds"] = torch.cat(neg, dim=1)
    return kwargs, slots
