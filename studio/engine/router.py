"""The one dispatcher every front door uses: a request goes to its model family's engine."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from studio.engine.families import family_for_request
from studio.engine.preload import wait_until_loaded
from studio.engine.requests import StepPreview


class EngineRouter:
    """The `run(request, on_step, cancel)` seam over every family. Each family's engine is made
    on its first request and kept (it holds that family's loaded models).

    `engines` replaces a family's engine by family name (tests pass fakes: `diffusion=…`)."""

    def __init__(self, cache_budget_bytes: int | None = None, **engines: Any) -> None:
        from studio.engine.memory.cache import ModelCache

        self._engines: dict[str, Any] = dict(engines)
        self._lock = threading.Lock()
        self.cache = ModelCache(cache_budget_bytes)  # one store and budget for every family

    def engine_for(self, request: Any) -> Any:
        """The engine that runs `request` (made now if its family has none yet)."""
        family = family_for_request(request)
        with self._lock:
            if family.name not in self._engines:
                self._engines[family.name] = family.make_engine(self.cache)
            return self._engines[family.name]

    def __getattr__(self, name: str) -> Any:
        """`router.diffusion`, `router.starter`…: a family's engine (made on first use)."""
        if name.startswith("_"):
            raise AttributeError(name)
        from studio.engine.families import family_named
        from studio.errors import StudioError

        try:
            family = family_named(name)
        except StudioError:
            raise AttributeError(name) from None
        with self._lock:
            if name not in self._engines:
                self._engines[name] = family.make_engine(self.cache)
            return self._engines[name]

    def resident_bytes(self, path: str, device: str, dtype: str) -> int:
        """Weights the engines already hold for `path` (what the memory preflight need not
        find again)."""
        with self._lock:
            engines = list(self._engines.values())
        probes = (getattr(e, "resident_bytes", None) for e in engines)
        return sum(int(probe(path, device, dtype)) for probe in probes if probe is not None)

    def run(
        self,
        request: Any,
        on_step: Callable[[StepPreview], None],
        cancel: threading.Event,
    ) -> Any:
        wait_until_loaded()  # never import the libraries from two threads at once
        from studio.engine.models.checkpoints import ConvertRequest

        if isinstance(request, ConvertRequest):  # a model-file job, not a family's: run here,
            return request.run()  # on this thread, so no two jobs touch torch at once
        return self.engine_for(request).run(request, on_step, cancel)


def run_request(request: Any, on_step: Callable[[StepPreview], None] | None = None) -> Any:
    """Run one request to the end on this thread (the CLI's front door): same dispatch as the
    window's worker, a fresh router, no cancel."""
    return EngineRouter().run(request, on_step or (lambda preview: None), threading.Event())
