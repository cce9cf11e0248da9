"""One engine for the worker: GAN requests to the GanEngine, starter folders to the StarterEngine,
everything else to diffusion."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.engine.gan.engine import GanEngine
from studio.engine.gan.requests import SpadeRequest, TranslateRequest
from studio.engine.models.checkpoints import ConvertRequest
from studio.engine.preload import wait_until_loaded
from studio.engine.requests import GenerationRequest, GenerationResult, StepPreview
from studio.engine.starter.engine import StarterEngine, is_starter_folder


class EngineRouter:
    """Same run(request, on_step, cancel) seam; picks the engine by the request's type."""

    def __init__(
        self, diffusion: Any = None, gan: GanEngine | None = None, starter: Any = None
    ) -> None:
        if diffusion is None:
            from studio.engine.diffusion.engine import DiffusionEngine

            diffusion = DiffusionEngine()
        self.diffusion = diffusion
        self.gan = gan or GanEngine()
        self.starter = starter or StarterEngine()

    def resident_bytes(self, path: str, device: str, dtype: str) -> int:
        """Diffusion weights already loaded (what the memory preflight need not find again)."""
        probe = getattr(self.diffusion, "resident_bytes", None)
        return int(probe(path, device, dtype)) if probe is not None else 0

    def run(
        self,
        request: Any,
        on_step: Callable[[StepPreview], None],
        cancel: threading.Event,
    ) -> GenerationResult | Path | None:
        wait_until_loaded()  # never import the libraries from two threads at once
        if isinstance(request, ConvertRequest):
            return request.run()  # on this thread too: no two jobs touch torch at once
        if isinstance(request, (SpadeRequest, TranslateRequest)):
            engine = self.gan
        elif isinstance(request, GenerationRequest) and is_starter_folder(request.model_path):
            engine = self.starter  # the starter diffusion: its own small pixel-space sampler
        else:
            engine = self.diffusion
        return engine.run(request, on_step, cancel)
