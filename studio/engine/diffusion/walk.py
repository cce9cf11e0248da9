"""Walking between prompts: the text embeddings of two prompts mixed linearly."""

from __future__ import annotations

from typing import Any

from studio.engine.requests import GenerationRequest

SDXL_NAMES = (
    "prompt_embeds",
    "negative_prompt_embeds",
    "pooled_prompt_embeds",
    "negative_pooled_prompt_embeds",
)


def _encode(pipe: Any, prompt: str, negative: str | None) -> dict[str, Any]:
    """The pipeline's own encoding of one prompt pair, as the keyword arguments it accepts."""
    if "pooled_prompt_embeds" in pipe.encode_prompt.__code__.co_varnames:  # SDXL
        out = pipe.encode_prompt(
            prompt, None, pipe.device, 1, True, negative_prompt=negative or None
        )
        return dict(zip(SDXL_NAMES, out, strict=True))
    embeds, negative_embeds = pipe.encode_prompt(
        prompt, pipe.device, 1, True, negative_prompt=negative or None
    )
    return {"prompt_embeds": embeds, "negative_prompt_embeds": negative_embeds}


def mixed_prompt_embeds(pipe: Any, request: GenerationRequest) -> dict[str, Any]:
    """Embeddings (1 - prompt_mix) * prompt + prompt_mix * prompt_b (exactly one at 0 or 1)."""
    t = float(request.prompt_mix)
    a = _encode(pipe, request.prompt, request.negative_prompt)
    if t == 0.0:
        return a
    b = _encode(pipe, request.prompt_b or "", request.negative_prompt)
    if t == 1.0:
        return b
    return {name: (1.0 - t) * a[name] + t * b[name] for name in a}
