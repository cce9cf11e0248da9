"""A1111 prompt-weighting syntax: `(word:1.3)`, `(word)`, `[word]`, escapes and BREAK.

Parsed in one linear pass (no regular expressions, so hostile text cannot make it backtrack),
with the same results as A1111's `parse_prompt_attention`: a list of (text, weight) pieces, runs
of equal weight merged, and ("BREAK", -1.0) where a new 75-token chunk must start. One deliberate
difference: BREAK inside brackets still breaks (A1111 weights the marker and then reads it as
the word "BREAK").
"""

from __future__ import annotations

import math

ROUND = 1.1  # `(text)` multiplies attention by 1.1
SQUARE = 1 / 1.1  # `[text]` divides it by 1.1
BREAK = ("BREAK", -1.0)
LOG_LIMIT = math.log(1000.0)  # |weight| <= 1000: deeper nesting would overflow to inf
_SPECIAL = "\\()[]:"
_ESCAPABLE = "()[]\\"


def uses_syntax(text: str) -> bool:
    """True when `text` has anything the A1111 syntax would read differently from plain words."""
    return any(c in text for c in "\\()[]") or "BREAK" in text


def _number_after_colon(text: str, i: int) -> tuple[float, int] | None:
    """`:\\s*[+-]?[.\\d]+\\s*\\)` starting at text[i] == ':' -> (weight, index after ')')."""
    n = len(text)
    j = i + 1
    while j < n and text[j].isspace():
        j += 1
    start = j
    if j < n and text[j] in "+-":
        j += 1
    digits = j
    while j < n and (text[j] == "." or "0" <= text[j] <= "9"):
        j += 1
    if j == digits:
        return None
    number = text[start:j]
    while j < n and text[j].isspace():
        j += 1
    if j >= n or text[j] != ")":
        return None
    try:
        weight = float(number)
    except ValueError:  # "1.2.3": A1111 raises; we read the text as words instead
        return None
    return (weight if math.isfinite(weight) else None), j + 1


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def split_break(text: str) -> list[str]:
    """Split on the word BREAK with the spaces around it (A1111's `\\s*\\bBREAK\\b\\s*`)."""
    parts: list[str] = []
    start = search = 0
    while (k := text.find("BREAK", search)) >= 0:
        end = k + 5
        search = k + 1
        if (k > 0 and _is_word_char(text[k - 1])) or (end < len(text) and _is_word_char(text[end])):
            continue
        left = k
        while left > start and text[left - 1].isspace():
            left -= 1
        parts.append(text[start:left])
        while end < len(text) and text[end].isspace():
            end += 1
        start = search = end
    parts.append(text[start:])
    return parts


class _Weights:
    """Weights of pieces under brackets that close later, as difference arrays (linear time).

    A closing bracket multiplies every piece since its opening; instead of looping over them,
    log|m| is added at the opening and removed at the end, with zero and sign counts beside it."""

    def __init__(self) -> None:
        self.log: list[float] = [0.0]
        self.zeros: list[int] = [0]
        self.negatives: list[int] = [0]

    def grow(self) -> None:
        for array in (self.log, self.zeros, self.negatives):
            array.append(0)

    def multiply(self, start: int, end: int, factor: float) -> None:
        if factor == 0:
            self.zeros[start] += 1
            self.zeros[end] -= 1
            return
        if factor < 0:
            self.negatives[start] += 1
            self.negatives[end] -= 1
        self.log[start] += math.log(abs(factor))
        self.log[end] -= math.log(abs(factor))

    def resolve(self, count: int) -> list[float]:
        out, log, zeros, negatives = [], 0.0, 0, 0
        for i in range(count):
            log += self.log[i]
            zeros += self.zeros[i]
            negatives += self.negatives[i]
            size = math.exp(max(-LOG_LIMIT, min(LOG_LIMIT, log)))
            weight = 0.0 if zeros else (-1.0 if negatives % 2 else 1.0) * size
            out.append(float(f"{weight:.15g}"))  # drop the log round trip's last bits
        return out


def parse(text: str) -> list[tuple[str, float]]:
    """(text, weight) pieces of an A1111 prompt; ("BREAK", -1.0) marks a forced chunk end."""
    pieces: list[str] = []
    breaks: set[int] = set()
    weights = _Weights()
    rounds: list[int] = []
    squares: list[int] = []

    def add(words: str) -> None:
        for k, part in enumerate(split_break(words)):
            if k > 0:
                breaks.add(len(pieces))
                pieces.append("BREAK")
                weights.grow()
            pieces.append(part)
            weights.grow()

    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            escaped = i + 1 < n and text[i + 1] in _ESCAPABLE
            pieces.append(text[i + 1] if escaped else "")  # a lone backslash disappears
            weights.grow()
            i += 2 if escaped else 1
        elif c == "(":
            rounds.append(len(pieces))
            i += 1
        elif c == "[":
            squares.append(len(pieces))
            i += 1
        elif c == ":":
            found = _number_after_colon(text, i)
            if found is not None and found[0] is not None and rounds:
                weights.multiply(rounds.pop(), len(pieces), found[0])
                i = found[1]
            elif found is not None:  # a weight with no bracket open: words, as A1111 reads it
                add(text[i : found[1]])
                i = found[1]
            else:
                add(":")
                i += 1
        elif c == ")" and rounds:
            weights.multiply(rounds.pop(), len(pieces), ROUND)
            i += 1
        elif c == "]" and squares:
            weights.multiply(squares.pop(), len(pieces), SQUARE)
            i += 1
        elif c in ")]":
            add(c)
            i += 1
        else:
            j = i + 1
            while j < n and text[j] not in _SPECIAL:
                j += 1
            add(text[i:j])
            i = j
    for start in rounds:  # brackets left open weigh everything after them
        weights.multiply(start, len(pieces), ROUND)
    for start in squares:
        weights.multiply(start, len(pieces), SQUARE)
    resolved = weights.resolve(len(pieces))
    out = [
        BREAK if k in breaks else (piece, w)
        for k, (piece, w) in enumerate(zip(pieces, resolved, strict=True))
    ]
    return _merged(out) if out else [("", 1.0)]


def _merged(pieces: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Neighbouring pieces of the same weight joined (BREAK markers stay apart)."""
    out: list[tuple[str, float]] = []
    for text, weight in pieces:
        if out and out[-1][1] == weight and BREAK not in (out[-1], (text, weight)):
            out[-1] = (out[-1][0] + text, weight)
        else:
            out.append((text, weight))
    return out
