"""Device and precision choice: CUDA (fp16), else MPS (fp16), else CPU (bf16 when faster)."""

from __future__ import annotations

import json
import logging
import time

from studio.errors import InvalidRequestError
from studio.io.paths import user_cache_dir

log = logging.getLogger(__name__)
DTYPES = ("float32", "float16", "bfloat16")
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


def choose_dtype(device: str, requested: str | None = None) -> str:
    if requested is not None and requested != "auto":
        if requested not in DTYPES:
            raise InvalidRequestError(f"Unknown precision {requested!r}; use one of {DTYPES}.")
        return requested
    if device in ("cuda", "mps"):
        return "float16"
    return "bfloat16" if cpu_bf16_is_faster() else "float32"


def _time_conv(dtype) -> float:
    import torch

    conv = torch.nn.Conv2d(128, 128, 3, padding=1).to(dtype)
    x = torch.randn(1, 128, 64, 64, dtype=dtype)
    best = float("inf")
    with torch.inference_mode():
        conv(x)
        for _ in range(3):
            start = time.perf_counter()
            conv(x)
            best = min(best, time.perf_counter() - start)
    return best


_probe_result: bool | None = None


def cpu_bf16_is_faster() -> bool:
    """Probe once per machine and torch version (remembered on disk): is bf16 >15% faster?"""
    global _probe_result
    if _probe_result is not None:
        return _probe_result
    import torch

    key = f"{torch.__version__}/{torch.backends.cpu.get_cpu_capability()}"
    cache = user_cache_dir() / "cpu_dtype_probe.json"
    try:
        stored = json.loads(cache.read_text())
        if stored.get("key") == key:
            _probe_result = bool(stored["bf16_faster"])
            return _probe_result
    except (OSError, ValueError, KeyError):
        pass
    fp32, bf16 = _time_conv(torch.float32), _time_conv(torch.bfloat16)
    _probe_result = bf16 < 0.85 * fp32
    log.info("CPU precision probe: fp32 %.1f ms, bf16 %.1f ms", fp32 * 1e3, bf16 * 1e3)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(
            json.dumps({"key": key, "bf16_faster": _probe_result, "fp32_s": fp32, "bf16_s": bf16})
        )
    except OSError as exc:
        log.warning("could not remember the CPU precision probe: %s", exc)
    return _probe_result
