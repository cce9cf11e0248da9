"""Does a job fit the device's free memory, and if not, which changed jobs would (with numbers)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from studio.engine.memory.estimate import MemoryEstimate, estimate, plan_for, with_plan
from studio.engine.memory.presets import MemoryPlan
from studio.engine.models.shape import Architecture, architecture
from studio.engine.requests import GenerationRequest
from studio.units import format_bytes

HEADROOM = 0.9  # use at most 90 % of what is free: the OS and the app need some too


@dataclass(frozen=True)
class MemoryOption:
    """A changed job that fits: what changes, in plain words, and its estimate."""

    label: str
    request: GenerationRequest
    estimate: MemoryEstimate

    @property
    def text(self) -> str:
        return f"{self.label} (about {format_bytes(self.estimate.total)})"


@dataclass(frozen=True)
class MemoryVerdict:
    """The estimate of the job as asked, the device's free memory, and options if it won't fit."""

    fits: bool
    estimate: MemoryEstimate
    free: int
    device: str
    options: tuple[MemoryOption, ...] = ()
    message: str = ""
    details: str = ""
    phases: dict[str, int] = field(default_factory=dict)


class _Checker:
    """Estimates variants of one request against one budget."""

    def __init__(self, request, device, dtype, free, total, loaded, variant, arch) -> None:
        self.request, self.device, self.dtype = request, device, dtype
        self.budget = int(free * HEADROOM) + loaded
        self.total, self.loaded, self.variant, self.arch = total, loaded, variant, arch

    def plan(self, request: GenerationRequest) -> MemoryPlan:
        return plan_for(request, self.device, self.total)

    def estimate(self, request: GenerationRequest) -> MemoryEstimate:
        return estimate(
            request, self.plan(request), self.dtype, self.arch, self.loaded, self.variant
        )

    def fits(self, request: GenerationRequest) -> MemoryEstimate | None:
        found = self.estimate(request)
        return found if found.total <= self.budget else None


def _smaller_batch(c: _Checker, r: GenerationRequest) -> MemoryOption | None:
    for size in range(r.batch_size - 1, 0, -1):
        if r.batch_size % size:
            continue
        changed = replace(r, batch_size=size, batch_count=r.batch_count * r.batch_size // size)
        found = c.fits(changed)
        if found:
            n = r.batch_size * r.batch_count
            return MemoryOption(f"{size} image(s) at a time (still {n} images)", changed, found)
    return None


def _switches(c: _Checker, r: GenerationRequest, plan: MemoryPlan, label: str):
    if plan == c.plan(r):
        return None
    changed = with_plan(r, plan)
    found = c.fits(changed)
    return MemoryOption(label, changed, found) if found else None


def _lower_size(c: _Checker, r: GenerationRequest, multiple: int) -> MemoryOption | None:
    for percent in range(90, 20, -10):
        w = max(multiple, r.width * percent // 100 // multiple * multiple)
        h = max(multiple, r.height * percent // 100 // multiple * multiple)
        changed = replace(r, width=w, height=h)
        found = c.fits(changed)
        if found:
            return MemoryOption(f"Lower the size to {w}x{h}", changed, found)
    return None


def check(
    request: GenerationRequest,
    device: str,
    dtype: str,
    free: int,
    total: int,
    loaded: int = 0,
    variant: str = "",
    arch: Architecture | None = None,
) -> MemoryVerdict:
    """The verdict for `request`; `loaded` bytes of its weights are already in memory."""
    arch = arch or architecture(request.model_path)
    c = _Checker(request, device, dtype, free, total, loaded, variant, arch)
    found = c.estimate(request)
    if found.total <= c.budget:
        return MemoryVerdict(True, found, free, device, phases=found.phases)
    plan = c.plan(request)
    tiled = replace(plan, vae_tiling=True, vae_slicing=True)
    candidates = [
        _smaller_batch(c, request),
        _switches(c, request, tiled, "Decode the picture in tiles (tiled VAE)"),
    ]
    if device != "cpu":
        candidates.append(
            _switches(c, request, replace(plan, offload="model"), "Model CPU offload (slower)")
        )
    multiple = arch.vae_scale * 2 ** (len(arch.unet_channels) - 1)
    candidates.append(_lower_size(c, request, multiple))
    options = tuple(o for o in candidates if o is not None)
    where = "GPU" if device == "cuda" else "memory" if device == "cpu" else device
    message = (
        f"This job needs about {format_bytes(found.needed)} but only {format_bytes(free)} of "
        f"{where} is free, so it would run out of memory."
    )
    message += " Choose one of the options that fit." if options else " Close other programs."
    lines = [f"{k}: {format_bytes(v)}" for k, v in found.phases.items()]
    details = (
        f"Estimate on {device} ({dtype}): weights {format_bytes(found.weights)} "
        f"(already loaded {format_bytes(found.loaded)}), "
        f"working memory {format_bytes(found.activations)} "
        f"(largest phase of: {', '.join(lines)}). Free: {format_bytes(free)}; using at most "
        f"{int(HEADROOM * 100)} % of it.\n" + "\n".join(f"- {o.text}" for o in options)
    )
    return MemoryVerdict(False, found, free, device, options, message, details, found.phases)
