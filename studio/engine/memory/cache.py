"""A least-recently-used cache of loaded models bounded by a memory budget (bytes)."""

from __future__ import annotations

import gc
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

log = logging.getLogger(__name__)
BUDGET_ENV = "STUDIO_MODEL_CACHE_MB"


def default_budget(device: str) -> int:
    """$STUDIO_MODEL_CACHE_MB, else 80 % of the GPU's memory, else 40 % of the machine's RAM."""
    if os.environ.get(BUDGET_ENV):
        return int(float(os.environ[BUDGET_ENV]) * 2**20)
    if device == "cuda":
        import torch

        return int(torch.cuda.get_device_properties(0).total_memory * 0.8)
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 16 * 2**30
    return int(ram * 0.4)


def module_bytes(obj: Any) -> int:
    """Bytes of parameters and buffers held by a torch module, a diffusers pipeline (its
    components) or a loaded model holding its network as `.net` / `.unet`."""
    if hasattr(obj, "components"):
        modules = list(obj.components.values())
    else:
        modules = [getattr(obj, "net", None) or getattr(obj, "unet", None) or obj]
    total = 0
    for module in modules:
        if hasattr(module, "parameters"):
            total += sum(p.numel() * p.element_size() for p in module.parameters())
            total += sum(b.numel() * b.element_size() for b in module.buffers())
    return total


class ModelCache:
    """Keeps loaded models newest-last; loading past the budget frees the oldest first.

    One store serves every family: the router makes one cache and each family's engine gets a
    view of it (`sharing`), so a SPADE draft, a starter and an SD pipeline share one budget."""

    def __init__(self, budget_bytes: int | None = None) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()

    @classmethod
    def sharing(cls, other: ModelCache | None, budget_bytes: int | None = None) -> ModelCache:
        """A cache of this class over `other`'s entries and budget (a new one if None)."""
        cache = cls(budget_bytes)
        if other is not None:
            cache._entries = other._entries
            cache.budget_bytes = other.budget_bytes
        return cache

    @property
    def used_bytes(self) -> int:
        return sum(size for _, size in self._entries.values())

    def loaded_keys(self) -> list[Hashable]:
        return list(self._entries)

    def sizes(self) -> dict[Hashable, int]:
        """Key -> bytes, copied in one step (safe to read from another thread under the GIL)."""
        try:
            entries = self._entries.copy()
        except RuntimeError:  # changed during the copy: report nothing rather than wrong
            return {}
        return {key: size for key, (_, size) in entries.items()}

    def fetch(
        self,
        key: Hashable,
        estimate: int,
        load: Callable[[], tuple[Any, int]],
        device: str = "cpu",
    ) -> Any:
        """The cached value for `key`, or `load()` it after evicting enough older entries."""
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key][0]
        budget = self.budget_bytes if self.budget_bytes is not None else default_budget(device)
        self._evict(budget - estimate)
        value, size = load()
        self._entries[key] = (value, size)
        self._evict(budget, keep=key)
        return value

    def _evict(self, limit: int, keep: Hashable | None = None) -> None:
        freed = False
        while self._entries and self.used_bytes > max(limit, 0):
            oldest = next(iter(self._entries))
            if oldest == keep:
                break
            log.info("freeing %s from the model cache", oldest)
            del self._entries[oldest]
            freed = True
        if freed:
            _release_memory()

    def clear(self) -> None:
        if self._entries:
            self._entries.clear()
            _release_memory()


def _release_memory() -> None:
    gc.collect()
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
