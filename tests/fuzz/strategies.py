"""Hypothesis strategies for hostile inputs: JSON of any shape, safetensors headers, bytes."""

from __future__ import annotations

import json
import struct

from hypothesis import strategies as st

SIZES = st.one_of(
    st.integers(-3, 70),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
)
SCALARS = st.one_of(st.none(), st.booleans(), SIZES, st.text(max_size=12))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
DTYPES = st.one_of(st.sampled_from(["F32", "F16", "BF16", "I64", "U8"]), st.text(max_size=4), SIZES)


def json_bytes(value) -> bytes:
    """JSON text of any value, non-finite floats included (as Python writes them)."""
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def tensor_entries(draw) -> dict:
    """A header entry that is usually almost right: one field of it damaged."""
    shape = draw(st.one_of(st.lists(st.integers(0, 4), max_size=3), JSON))
    entry = {"dtype": draw(DTYPES), "shape": shape}
    begin = draw(st.integers(-2, 40))
    entry["data_offsets"] = draw(
        st.one_of(st.just([begin, begin + draw(st.integers(-4, 64))]), JSON)
    )
    return entry if draw(st.booleans()) else draw(JSON)


@st.composite
def safetensors_files(draw) -> bytes:
    """A .safetensors file damaged in its header, its length field, its data or its end."""
    header = draw(st.dictionaries(st.text(min_size=1, max_size=6), tensor_entries(), max_size=3))
    if draw(st.booleans()):
        header["__metadata__"] = draw(JSON)
    raw = json_bytes(header)
    length = draw(st.one_of(st.just(len(raw)), st.integers(0, 2**64 - 1)))
    data = draw(st.binary(max_size=80))
    blob = struct.pack("<Q", length) + raw + data
    cut = draw(st.one_of(st.none(), st.integers(0, len(blob))))
    return blob if cut is None else blob[:cut]


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth
