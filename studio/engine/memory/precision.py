"""What "Automatic" precision means on this CPU, per model family: measured once, remembered.

A single convolution says little about a real model (attention, norms and the allocator weigh
in), so each family is timed on a block of its own architecture in float32 and bfloat16: the
SD families on a ResNet block plus a cross-attention transformer block at their first level
(512² image, CFG batch 2), the starter on its own UNet at its native size. The faster one wins
unless it is less than 5 % faster (then float32, the exact one). The verdict is stored in the
user data folder per machine, torch version and family, so it is measured once.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

from studio.io.paths import user_data_dir

log = logging.getLogger(__name__)
MARGIN = 0.95  # bfloat16 must take under 95 % of float32's time to be chosen
REPEATS = 2
Probe = Callable[[str], Callable[[], object]]  # dtype name -> one representative forward pass
Clock = Callable[[], float]
_remembered: dict[str, dict] = {}
last_choice: str | None = None  # the newest verdict, for estimates that must not measure


def store_path() -> Path:
    return user_data_dir() / "precision.json"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine_key(family: str) -> str:
    """This machine (CPU, cores, vector unit), this torch, this family."""
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    cpu = f"{platform.machine()} {_cpu_name()} x{os.cpu_count()} {capability}"
    return f"{cpu} | torch {torch.__version__} | {family}"


def _timed(run: Callable[[], object], clock: Clock) -> float:
    run()  # warm up: first calls pay for allocation and kernel choice
    best = float("inf")
    for _ in range(REPEATS):
        start = clock()
        run()
        best = min(best, clock() - start)
    return best


def measure(probe: Probe, clock: Clock = time.perf_counter) -> dict:
    """Seconds per representative pass in float32 and bfloat16, and the faster choice."""
    import torch

    seconds = {}
    with torch.inference_mode():
        for dtype in ("float32", "bfloat16"):
            try:
                seconds[dtype] = _timed(probe(dtype), clock)
            except (RuntimeError, TypeError) as exc:  # no bfloat16 kernels on this CPU
                log.info("precision probe: %s does not run here (%s)", dtype, exc)
                seconds[dtype] = float("inf")
    faster = seconds["bfloat16"] < MARGIN * seconds["float32"]
    return {"dtype": "bfloat16" if faster else "float32", "seconds": seconds}


def _load() -> dict:
    try:
        data = json.loads(store_path().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save(key: str, verdict: dict) -> None:
    data = _load()
    data[key] = verdict
    try:
        store_path().parent.mkdir(parents=True, exist_ok=True)
        store_path().write_text(json.dumps(data, indent=1))
    except OSError as exc:
        log.warning("could not remember the precision choice: %s", exc)


def cpu_verdict(family: str, probe: Probe | None = None, clock: Clock = time.perf_counter) -> dict:
    """{"dtype", "seconds": {dtype: s}} for `family` here, measured on first use only."""
    global last_choice
    key = machine_key(family)
    if key in _remembered:
        return _remembered[key]
    stored = _load().get(key)
    if isinstance(stored, dict) and stored.get("dtype") in ("float32", "bfloat16"):
        _remembered[key] = stored
        last_choice = stored["dtype"]
        return stored
    started = time.perf_counter()
    verdict = measure(probe or probe_for(family), clock)
    verdict["measured_s"] = round(time.perf_counter() - started, 2)
    log.info("precision for %s on this CPU: %s (%s)", family, verdict["dtype"], verdict["seconds"])
    _remembered[key] = verdict
    last_choice = verdict["dtype"]
    _save(key, verdict)
    return verdict


def automatic_dtype(device: str, family: str, probe: Probe | None = None) -> str:
    """The precision Automatic uses for `family` on `device` (half on GPUs, measured on CPU)."""
    if device in ("cuda", "mps"):
        return "float16"
    return cpu_verdict(family, probe)["dtype"]


def describe_choice(device: str, family: str) -> str:
    """One line for the recipe: why Automatic ran this family in its precision here."""
    if device != "cpu":
        return f"Automatic: float16 on {device}"
    verdict = cpu_verdict(family)
    s = verdict["seconds"]
    ratio = s["float32"] / s["bfloat16"] if s["bfloat16"] else float("inf")
    return (
        f"Automatic: {verdict['dtype']} for {family} on this CPU "
        f"(bfloat16 measured {ratio:.2f}x the speed of float32)"
    )


def recipe_note(requested: str | None, device: str, family: str) -> str:
    """How the job's precision was chosen, for its recipe."""
    if requested not in (None, "auto"):
        return f"{requested} (chosen in Preferences)"
    return describe_choice(device, family)


def family_for_model(path: str) -> str:
    """The SD family whose probe stands for the model at `path` (sd1 when it cannot tell)."""
    from studio.engine.memory.precision_probes import PROBES
    from studio.engine.models.registry import inspect_file, inspect_folder
    from studio.errors import StudioError

    try:
        info = inspect_folder(Path(path)) if Path(path).is_dir() else inspect_file(Path(path))
    except (OSError, ValueError, StudioError):
        return "sd1"
    return info.family if info.family in PROBES else "sd1"


def probe_for(family: str) -> Probe:
    from studio.engine.memory.precision_probes import PROBES, sd_block

    return PROBES.get(family) or sd_block(320, 768)
