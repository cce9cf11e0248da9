"""Walking between prompts: the text embeddings of two prompts mixed linearly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from studio.engine.diffusion.weighting import weighted_kwargs
from studio.engine.requests import GenerationRequest

SDXL_NAMES = (
    "prompt_embeds",
    "negative_prompt_embeds",
    "pooled_prompt_embeds",
    "negative_pooled_prompt_embeds",
)


def _encode(
    pipe: Any,
    prompt: str,
    negative: str | None,
    syntax: str = "plain",
    chunks: int = 1,
    embeddings: Sequence[Any] = (),
) -> dict[str, Any]:
    """One prompt pair encoded (the pipeline's own way, or ours: A1111 syntax, long prompts,
    embeddings), as pipeline arguments."""
    if syntax != "plain" or embeddings:
        return weighted_kwargs(pipe, prompt, negative or "", embeddings, chunks, syntax)
    if "pooled_prompt_embeds" in pipe.encode_prompt.__code__.co_varnames:  # SDXL
        out = pipe.encode_prompt(
            prompt, None, pipe.device, 1, True, negative_prompt=negative or None
        )
        return dict(zip(SDXL_NAMES, out, strict=True))
    embeds, negative_embeds = pipe.encode_prompt(
        prompt, pipe.device, 1, True, negative_prompt=negative or None
    )
    return {"prompt_embeds": embeds, "negative_prompt_embeds": negative_embeds}


def mixed_prompt_embeds(
    pipe: Any, request: GenerationRequest, embeddings: Sequence[Any] = ()
) -> dict[str, Any]:
    """Embeddings (1 - prompt_mix) * prompt + prompt_mix * prompt_b (exactly one at 0 or 1)."""
    t = float(request.prompt_mix)
    negative = request.negative_prompt

    def encode(prompt: str, chunks: int = 1) -> dict[str, Any]:
        return _encode(pipe, prompt, negative, request.prompt_syntax, chunks, embeddings)

    a = encode(request.prompt)
    if t == 0.0:
        return a
    b = encode(request.prompt_b or "")
    if t == 1.0:
        return b
    tokens = max(a["prompt_embeds"].shape[1], b["prompt_embeds"].shape[1])
    if a["prompt_embeds"].shape[1] < tokens:  # long prompts: mix chunk by chunk
        a = encode(request.prompt, tokens // 77)
    if b["prompt_embeds"].shape[1] < tokens:
        b = encode(request.prompt_b or "", tokens // 77)
    return {name: (1.0 - t) * a[name] + t * b[name] for name in a}
