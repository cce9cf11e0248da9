"""Device and precision choice: CUDA (fp16), else MPS (fp16), else CPU (measured per family)."""

from __future__ import annotations

import logging

from studio.engine.memory import precision
from studio.errors import InvalidRequestError

log = logging.getLogger(__name__)
DTYPES = ("float32", "float16", "bfloat16")
automatic_dtype = precision.automatic_dtype  # what "Automatic" means for a family on a device
DEVICES = ("cpu", "cuda", "mps")


def available_devices() -> list[str]:
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.insert(0, "cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.insert(0, "mps")
    return devices


def choose_device(requested: str | None = None) -> str:
    if requested is None or requested == "auto":
        return available_devices()[0]
    if requested not in DEVICES:
        raise InvalidRequestError(f"Unknown device {requested!r}; use one of {', '.join(DEVICES)}.")
    if requested not in available_devices():
        raise InvalidRequestError(f"The {requested} device is not available on this machine.")
    return requested


def choose_dtype(device: str, requested: str | None = None, family: str = "sd1") -> str:
    """The precision asked for; for Automatic, the fastest measured for `family` here."""
    if requested is not None and requested != "auto":
        if requested not in DTYPES:
            raise InvalidRequestError(f"Unknown precision {requested!r}; use one of {DTYPES}.")
        return requested
    return precision.automatic_dtype(device, family)
