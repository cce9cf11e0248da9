"""A1111 prompt weighting and long prompts for SD 1.x/2.x/SDXL pipelines (torch, lazily).

The prompt is cut into chunks of 75 tokens (at a comma within the last 20 tokens, or at BREAK),
each chunk is encoded on its own as [start] + 75 + [end], every token's output row is scaled by
its weight and the chunk's mean restored, and the chunks are joined along the token axis.
Negative and positive prompts are padded to the same number of chunks with the empty prompt's
chunk. A prompt of at most 75 tokens with no weights gives exactly the pipeline's own encoding.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from studio.engine.diffusion.prompt_syntax import BREAK, parse

CHUNK = 75  # tokens between the start and end tokens of one encoder call
COMMA_BACKTRACK = 20  # a full chunk ends at a comma this close to its end (A1111's default)


@dataclass
class Chunk:
    """Up to 75 token ids, their weights, and where embedding vectors replace placeholders."""

    ids: list[int] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    fixes: list[tuple[int, str]] = field(default_factory=list)  # (offset in ids, embedding name)


@dataclass(frozen=True)
class Encoder:
    """One tokenizer + text encoder of a pipeline and which hidden state it conditions with."""

    tokenizer: Any
    model: Any
    penultimate: bool  # SDXL takes the second-to-last hidden state


def encoders(pipe: Any) -> list[Encoder]:
    """SD 1.x/2.x: one encoder; SDXL: both (pooled from the second); SDXL refiner: the second."""
    sdxl = is_sdxl(pipe)
    pairs = [("tokenizer", "text_encoder"), ("tokenizer_2", "text_encoder_2")]
    out = []
    for tok, enc in pairs:
        if getattr(pipe, tok, None) is not None and getattr(pipe, enc, None) is not None:
            out.append(Encoder(getattr(pipe, tok), getattr(pipe, enc), sdxl))
    return out


def is_sdxl(pipe: Any) -> bool:
    return "pooled_prompt_embeds" in inspect.signature(pipe.encode_prompt).parameters


def _tokens(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])


def _triggers(tokenizer: Any, vectors: Mapping[str, int]) -> dict[int, list[tuple[list[int], str]]]:
    """First token id -> [(token ids of an embedding's name, name)], longest first."""
    out: dict[int, list[tuple[list[int], str]]] = {}
    for name in vectors:
        ids = _tokens(tokenizer, name)
        if ids:
            out.setdefault(ids[0], []).append((ids, name))
    for entries in out.values():
        entries.sort(key=lambda entry: -len(entry[0]))
    return out


def _embedding_at(tokens: list[int], position: int, triggers: dict) -> tuple[str, int] | None:
    for ids, name in triggers.get(tokens[position], ()):
        if tokens[position : position + len(ids)] == ids:
            return name, len(ids)
    return None


def chunks(
    tokenizer: Any, text: str, vectors: Mapping[str, int] | None = None, syntax: str = "a1111"
) -> list[Chunk]:
    """The prompt's 75-token chunks as A1111 builds them; `vectors`: embedding name -> count;
    `syntax` "plain": brackets are words (embeddings and long prompts still work)."""
    vectors = vectors or {}
    triggers = _triggers(tokenizer, vectors)
    comma = _tokens(tokenizer, ",")[-1]
    done: list[Chunk] = []
    chunk, last_comma = Chunk(), -1

    def close() -> None:
        nonlocal chunk, last_comma
        done.append(chunk)
        chunk, last_comma = Chunk(), -1

    for text_piece, weight in parse(text) if syntax == "a1111" else [(text, 1.0)]:
        if (text_piece, weight) == BREAK:
            close()
            continue
        tokens = _tokens(tokenizer, text_piece)
        position = 0
        while position < len(tokens):
            token = tokens[position]
            if token == comma:
                last_comma = len(chunk.ids)
            elif (
                len(chunk.ids) == CHUNK
                and last_comma != -1
                and len(chunk.ids) - last_comma <= COMMA_BACKTRACK
            ):  # move the words after the last comma into the next chunk
                cut = last_comma + 1
                moved = Chunk(chunk.ids[cut:], chunk.weights[cut:])
                chunk.ids, chunk.weights = chunk.ids[:cut], chunk.weights[:cut]
                close()
                chunk = moved
            if len(chunk.ids) == CHUNK:
                close()
            found = _embedding_at(tokens, position, triggers)
            if found is None:
                chunk.ids.append(token)
                chunk.weights.append(weight)
                position += 1
                continue
            name, length = found
            count = vectors[name]
            if len(chunk.ids) + count > CHUNK:
                close()
            chunk.fixes.append((len(chunk.ids), name))
            chunk.ids += [comma] * count  # placeholders, replaced by the vectors
            chunk.weights += [weight] * count
            position += length
    if chunk.ids or not done:
        close()
    return done


def token_count(pipe: Any, text: str) -> int:
    """Tokens the prompt takes (for the '77 tokens' counter): chunks are of 75."""
    found = chunks(encoders(pipe)[0].tokenizer, text)
    return CHUNK * (len(found) - 1) + len(found[-1].ids)


def _chunk_ids(tokenizer: Any, chunk: Chunk) -> list[int]:
    """[start] + ids + [end] + padding to 77, the way diffusers pads a short prompt."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    ids = [tokenizer.bos_token_id, *chunk.ids, tokenizer.eos_token_id]
    return ids + [pad] * (CHUNK + 2 - len(ids))


@contextlib.contextmanager
def _replacing(encoder: Encoder, chunk: Chunk, vectors: Mapping[str, Any]) -> Iterator[None]:
    """While encoding `chunk`, its placeholder rows take the embeddings' vectors."""
    if not chunk.fixes:
        yield
        return

    def hook(module, args, output):
        output = output.clone()
        for offset, name in chunk.fixes:
            rows = vectors[name].to(output.device, output.dtype)
            output[0, 1 + offset : 1 + offset + rows.shape[0]] = rows
        return output

    handle = encoder.model.get_input_embeddings().register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def _restore(original: Any, weighted: Any) -> float:
    """original mean / weighted mean, the factor A1111 applies after weighting; 1 where that
    ratio means nothing (a mean of about 0, as a random test encoder's layer norm gives)."""
    a, b = float(original), float(weighted)
    if a == 0.0 or b == 0.0 or (a > 0) != (b > 0) or not 1 / 16 <= a / b <= 16:
        return 1.0
    return a / b


def encode_chunks(
    encoder: Encoder, found: Sequence[Chunk], device: Any, vectors: Mapping[str, Any] = {}
) -> tuple[Any, Any]:
    """(1 x 77k x D conditioning, pooled output of the first chunk or None)."""
    import torch

    parts, pooled = [], None
    for chunk in found:
        ids = torch.tensor([_chunk_ids(encoder.tokenizer, chunk)], device=device)
        with _replacing(encoder, chunk, vectors):
            out = encoder.model(ids, output_hidden_states=encoder.penultimate)
        z = out.hidden_states[-2] if encoder.penultimate else out[0]
        if pooled is None and out[0].ndim == 2:
            pooled = out[0]  # text_embeds of CLIPTextModelWithProjection (SDXL's second)
        weights = [1.0, *chunk.weights] + [1.0] * (CHUNK + 1 - len(chunk.weights))
        if any(w != 1.0 for w in weights):
            scale = torch.tensor(weights, device=z.device, dtype=torch.float32)
            weighted = z.float() * scale[None, :, None]
            z = (weighted * _restore(z.float().mean(), weighted.mean())).to(z.dtype)
        parts.append(z)
    return torch.cat(parts, dim=1).to(dtype=encoder.model.dtype), pooled


def _widths(embeddings: Sequence[Any], width: int) -> dict[str, Any]:
    """name -> n x width vectors of the embeddings made for an encoder of that width."""
    return {e.name: e.vectors[width] for e in embeddings if width in e.vectors}


def weighted_kwargs(
    pipe: Any,
    prompt: str,
    negative: str,
    embeddings: Sequence[Any] = (),
    min_chunks: int = 1,
    syntax: str = "a1111",
) -> dict[str, Any]:
    """prompt_embeds / negative_prompt_embeds (+ pooled for SDXL) for the pipeline call."""
    import torch

    device = pipe._execution_device
    plan = []
    for encoder in encoders(pipe):
        vectors = _widths(embeddings, encoder.model.config.hidden_size)
        counts = {name: int(v.shape[0]) for name, v in vectors.items()}
        pos = chunks(encoder.tokenizer, prompt, counts, syntax)
        plan.append((encoder, vectors, pos, chunks(encoder.tokenizer, negative, counts, syntax)))
    n = max(min_chunks, *(max(len(pos), len(neg)) for _, _, pos, neg in plan))
    outs = []
    for encoder, vectors, pos, neg in plan:  # equal lengths: pad with the empty prompt's chunk
        pos, neg = pos + [Chunk()] * (n - len(pos)), neg + [Chunk()] * (n - len(neg))
        outs.append((*encode_chunks(encoder, pos, device, vectors),))
        outs[-1] += encode_chunks(encoder, neg, device, vectors)
    kwargs = {
        "prompt_embeds": torch.cat([o[0] for o in outs], dim=-1),
        "negative_prompt_embeds": torch.cat([o[2] for o in outs], dim=-1),
    }
    if not is_sdxl(pipe):
        return kwargs
    kwargs.update(pooled_prompt_embeds=outs[-1][1], negative_pooled_prompt_embeds=outs[-1][3])
    if not negative and pipe.config.get("force_zeros_for_empty_prompt", False):
        # what the pipeline itself does with no negative prompt
        kwargs["negative_prompt_embeds"] = torch.zeros_like(kwargs["prompt_embeds"])
        kwargs["negative_pooled_prompt_embeds"] = torch.zeros_like(outs[-1][1])
    return kwargs
