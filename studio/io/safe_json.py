"""JSON from files Studio did not write: size, nesting depth and non-finite numbers are checked."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

MAX_DEPTH = 64  # no file Studio reads nests deeper than ~6; deeper is damage or an attack
MAX_JSON_BYTES = 16 * 2**20


class UntrustedJsonError(ValueError):
    """Text that is not JSON Studio accepts (damaged, too large, too deep, non-finite)."""


def _no_constants(name: str) -> Any:
    raise UntrustedJsonError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UntrustedJsonError(f"{text[:20]} is too large for a number")
    return value


def _depth_ok(value: Any, limit: int) -> bool:
    """Iterative walk (no recursion): True if nothing nests deeper than `limit`."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def parse_json(data: bytes | str, max_depth: int = MAX_DEPTH, max_bytes: int = MAX_JSON_BYTES):
    """Parse untrusted JSON; UntrustedJsonError (a ValueError) says why it was refused."""
    if len(data) > max_bytes:
        raise UntrustedJsonError(f"{len(data)} bytes of JSON, more than the {max_bytes} allowed")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, parse_constant=_no_constants, parse_float=_finite_float)
    except RecursionError as exc:
        raise UntrustedJsonError(f"nested deeper than {max_depth} levels") from exc
    except UnicodeDecodeError as exc:
        raise UntrustedJsonError(f"not UTF-8 text ({exc.reason})") from exc
    except UntrustedJsonError:
        raise
    except ValueError as exc:
        raise UntrustedJsonError(f"not valid JSON ({exc})") from exc
    if not _depth_ok(value, max_depth):
        raise UntrustedJsonError(f"nested deeper than {max_depth} levels")
    return value


def read_json_file(path: Path, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_DEPTH):
    """Parse a JSON file without reading more than `max_bytes` of it (OSError passes through)."""
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)
    return parse_json(data, max_depth, max_bytes)


def finite_number(value: Any) -> bool:
    """A real int or float that is finite (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)
