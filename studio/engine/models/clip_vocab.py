"""CLIP BPE tokenizer files derived from the vocabulary the `openai-clip` wheel ships.

Run `python -m studio.engine.models.clip_vocab OUT_DIR` to write vocab.json and merges.txt by hand;
the engine does the same on first use into the user cache.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path

from studio.errors import ModelLoadError

ARCHIVE = "bpe_simple_vocab_16e6.txt.gz"
ARCHIVE_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
N_MERGES = 49152 - 256 - 2  # the merges OpenAI's tokenizer uses (lines 1..48894)


def bpe_archive() -> Path:
    """The gzipped BPE file inside the installed `clip` package, found without importing it."""
    spec = importlib.util.find_spec("clip")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / ARCHIVE
        if candidate.is_file():
            return candidate
    raise ModelLoadError(
        "The CLIP vocabulary is missing: install the `openai-clip` package.",
        f"looked for clip/{ARCHIVE} in {locations or 'no installed clip package'}",
    )


def byte_symbols() -> list[str]:
    """The 256 printable stand-ins for bytes, in the order byte-level BPE assigns ids."""
    printable = list(range(ord("!"), ord("~") + 1))
    printable += list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return [chr(c) for c in codes]


def build_vocab(archive: Path | None = None) -> tuple[dict[str, int], list[str]]:
    """(token -> id for 49,408 tokens, the 48,894 merges), built as OpenAI's tokenizer does."""
    import hashlib

    archive = archive or bpe_archive()
    raw = archive.read_bytes()
    if hashlib.sha256(raw).hexdigest() != ARCHIVE_SHA256:
        raise ModelLoadError(f"{archive} is not the expected CLIP vocabulary (hash differs).")
    lines = gzip.decompress(raw).decode("utf-8").split("\n")
    merges = lines[1 : N_MERGES + 1]
    symbols = byte_symbols()
    tokens = symbols + [s + "</w>" for s in symbols]
    tokens += ["".join(m.split()) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}, merges


def write_tokenizer_files(folder: Path, archive: Path | None = None) -> None:
    """Write vocab.json and merges.txt (the files CLIPTokenizer.from_pretrained reads)."""
    vocab, merges = build_vocab(archive)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp_vocab, tmp_merges = folder / "vocab.json.partial", folder / "merges.txt.partial"
    tmp_vocab.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tmp_merges.write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    tmp_vocab.replace(folder / "vocab.json")
    tmp_merges.replace(folder / "merges.txt")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m studio.engine.models.clip_vocab OUT_DIR", file=sys.stderr)
        sys.exit(2)
    write_tokenizer_files(Path(sys.argv[1]))
    print(f"wrote vocab.json and merges.txt to {sys.argv[1]}")
