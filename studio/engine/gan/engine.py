"""The GAN engine's seam, like the diffusion one: run(request, on_step, cancel) -> result."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.engine.cancel import cancel_points
from studio.engine.gan import spade_model, translate
from studio.engine.gan.requests import SpadeRequest, TranslateRequest
from studio.engine.memory.cache import ModelCache, module_bytes
from studio.engine.memory.device import choose_device
from studio.engine.memory.oom import describe, free_device_memory, is_out_of_memory
from studio.engine.requests import GenerationResult, StepPreview
from studio.engine.versions import versions
from studio.errors import Cancelled, InvalidRequestError, OutOfMemoryError

log = logging.getLogger(__name__)
GanRequest = SpadeRequest | TranslateRequest


class GanEngine:
    """Runs SPADE and pix2pix/CycleGAN requests: one step, one preview, same cancel."""

    def __init__(self, shared: Any = None) -> None:
        # `shared`: the router's one ModelCache (one budget for every family)
        self.cache = ModelCache.sharing(shared)

    def _load(self, path: Path, device: str, kind: str) -> Any:
        mtime = path.stat().st_mtime if path.exists() else 0.0
        key = ("gan", str(path.resolve()), device, mtime, kind)
        size = path.stat().st_size if path.exists() else 0

        def load() -> tuple[Any, int]:
            if kind == "spade":
                loaded = spade_model.load_spade(str(path), device)
            else:
                loaded = translate.load_translator(path, device)
            log.info("loaded %s generator %s on %s", kind, path.name, device)
            return loaded, module_bytes(loaded)

        return self.cache.fetch(key, 2 * size, load, device)

    def run(
        self,
        request: GanRequest,
        on_step: Callable[[StepPreview], None],
        cancel: threading.Event,
    ) -> GenerationResult | None:
        """Generate in one pass; None when cancelled before the image exists."""
        if not isinstance(request, (SpadeRequest, TranslateRequest)):
            raise InvalidRequestError(f"The GAN engine cannot run a {type(request).__name__}.")
        device = choose_device(request.device)
        if cancel.is_set():
            return None
        on_step(StepPreview(0, 1, None, 0.0, phase="loading"))
        if isinstance(request, SpadeRequest):
            loaded = self._load(Path(request.model_path), device, "spade")
        else:
            path = translate.generator_file(request.model_path, request.direction)
            loaded = self._load(path, device, "translate")
        if cancel.is_set():
            return None
        started = time.perf_counter()
        extra: dict[str, Any] = {}
        oom = ""
        try:
            with cancel_points(cancel, loaded.net):  # stops inside the pass, not after it
                image, extra = self._render(loaded, request, cancel)
        except Cancelled:
            return None
        except Exception as exc:  # only to classify out-of-memory; everything else re-raised
            if not is_out_of_memory(exc):
                raise
            oom = describe(exc)  # text only: the traceback would pin the job's tensors
        if oom:
            free_device_memory(device)  # outside the except block: the frames are gone
            raise OutOfMemoryError(
                f"The {device} ran out of memory for this image; try a smaller one or tiles.",
                oom,
            )
        seconds = time.perf_counter() - started
        on_step(StepPreview(1, 1, image, seconds))
        return GenerationResult(
            image, request, self._recipe(request, loaded, extra, seconds), False, 1, seconds
        )  # type: ignore[arg-type]

    def _render(self, loaded: Any, request: GanRequest, cancel: threading.Event):
        """(image, recipe extras) of one generator pass."""
        if isinstance(request, SpadeRequest):
            image, unknown = spade_model.render(loaded, request)
            if unknown:
                log.warning("labels the model does not know (as dontcare): %s", unknown)
            return image, {"unknown_labels": unknown}
        return translate.translate(loaded, request, cancel), {}

    def _recipe(self, request: GanRequest, loaded: Any, extra: dict, seconds: float) -> dict:
        recipe = request.describe()
        module = spade_model if isinstance(request, SpadeRequest) else translate
        recipe.update(module.describe_model(loaded))
        recipe.update(extra, steps_done=1, draft=False, seconds=round(seconds, 3))
        recipe["versions"] = versions(("torch",))
        return recipe
