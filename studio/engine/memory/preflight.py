"""Before a job is queued: which device and precision it will get and whether it fits there.

Called from the GUI thread, so it never waits: it asks torch only once the libraries are
imported (else it cannot tell a GPU from the CPU and says so by returning None), and it never
runs the CPU precision probe (an unprobed CPU is assumed to run float32, the larger).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

from studio.engine.memory.estimate import device_memory
from studio.engine.memory.fit import MemoryVerdict, check
from studio.engine.models.shape import architecture
from studio.engine.requests import GenerationRequest

log = logging.getLogger(__name__)
MemoryProbe = Callable[[str], tuple[int, int]]  # device -> (free, total) bytes


@dataclass(frozen=True)
class DeviceState:
    """Where a job would run and how much memory is free there now."""

    device: str
    dtype: str
    free: int
    total: int


def _libraries_ready() -> bool:
    from studio.engine.preload import is_loading

    return "torch" in sys.modules and not is_loading()


def _dtype(device: str, requested: str | None) -> str:
    if requested and requested != "auto":
        return requested
    if device in ("cuda", "mps"):
        return "float16"
    from studio.engine.memory import precision

    return precision.last_choice or "float32"  # the measured answer, if any yet


def device_state(
    device: str | None, dtype: str | None, probe: MemoryProbe = device_memory
) -> DeviceState | None:
    """The device and precision a job would get, with its free memory; None if unknown yet."""
    if device in (None, "auto") or device != "cpu":
        if not _libraries_ready():
            return None  # only torch knows whether there is a GPU; the OOM retry still guards
        from studio.engine.memory.device import choose_device
        from studio.errors import StudioError

        try:
            device = choose_device(device)
        except StudioError:
            return None  # the engine reports an unavailable device in plain words
    free, total = probe(device)
    return DeviceState(device, _dtype(device, dtype), free, total)


def preflight(
    request: GenerationRequest, state: DeviceState, loaded: int = 0, variant: str = ""
) -> MemoryVerdict | None:
    """memory_fit's verdict for a diffusers model; None where there is no estimate (the
    starter, GAN models, files whose configs cannot be read)."""
    from studio.engine.families import family_for_request

    if not isinstance(request, GenerationRequest) or not family_for_request(request).preflight:
        return None
    try:
        arch = architecture(request.model_path)
    except (OSError, ValueError, KeyError) as exc:
        log.info("no memory estimate for %s: %s", request.model_path, exc)
        return None
    return check(request, state.device, state.dtype, state.free, state.total, loaded, variant, arch)
