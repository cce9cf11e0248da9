"""The starter diffusion behind the engine seam: run(request, on_step, cancel) -> result."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.cancel import cancel_points
from studio.engine.memory.cache import ModelCache, module_bytes
from studio.engine.memory.precision import automatic_dtype, recipe_note
from studio.engine.record import StepRecorder
from studio.engine.requests import GenerationRequest, GenerationResult, StepPreview
from studio.engine.starter import vocab
from studio.engine.starter.model import LoadedStarter, labels_to_onehot, load_starter
from studio.errors import Cancelled, InvalidRequestError

MAX_STEPS = 500
MAX_SIDE = 4096


def resize(image: np.ndarray, width: int, height: int, nearest: bool = False) -> np.ndarray:
    """HxW[x3] uint8 -> height x width (bicubic, or nearest for label maps)."""
    if image.shape[:2] == (height, width):
        return np.ascontiguousarray(image)
    from PIL import Image

    method = Image.Resampling.NEAREST if nearest else Image.Resampling.BICUBIC
    return np.asarray(Image.fromarray(image).resize((width, height), method))


def validate(request: GenerationRequest) -> None:
    """Refuse values the starter cannot run, naming the value."""
    if not 1 <= request.num_inference_steps <= MAX_STEPS:
        raise InvalidRequestError(
            f"Steps must be between 1 and {MAX_STEPS}, got {request.num_inference_steps}."
        )
    if not 0.0 <= request.guidance_scale <= 50.0:
        raise InvalidRequestError(
            f"CFG scale must be between 0 and 50, got {request.guidance_scale}."
        )
    for name, value in (("Width", request.width), ("Height", request.height)):
        if not 8 <= value <= MAX_SIDE:
            raise InvalidRequestError(f"{name} must be between 8 and {MAX_SIDE}, got {value}.")
    if request.init_image is not None and not 0.0 < request.strength <= 1.0:
        raise InvalidRequestError(
            f"Strength must be above 0 and at most 1, got {request.strength}."
        )
    if request.batch_size < 1 or request.batch_count < 1:
        raise InvalidRequestError("Batch size and count must be at least 1.")


def starter_labels(request: GenerationRequest, reading: vocab.PromptReading, native: int, seed):
    """(HxW label values at native size or None, where they came from) for the request."""
    if request.label_map is not None:
        labels = np.asarray(request.label_map)
        if int(labels.max(initial=0)) >= vocab.LABEL_CHANNELS:
            raise InvalidRequestError(
                "The starter reads Landscape labels (values 0..24); this label map holds "
                f"{int(labels.max())}. Paint with the Landscape palette."
            )
        small = resize(labels.astype(np.uint8), native, native, nearest=True)
        return small, "painted label layer"
    if request.mask is not None:  # a composed whole-picture layout would fight the picture
        return None, "none (inpainting follows the picture around the mask)"
    if reading.materials:
        from studio.engine.starter.layout import sample_layout

        rng = np.random.default_rng(seed)
        labels, _ = sample_layout(
            rng, (native, native), reading.materials, weather=reading.weather,
            season=reading.season,
        )  # fmt: skip
        return labels, "composed from the prompt's materials"
    return None, "none (unconditional layout)"


def starter_probe(folder: str | Path):
    """Precision probe: the starter's own UNet (random weights), a CFG batch at native size."""

    def build(dtype_name: str):
        import torch

        from studio.engine.starter.model import build_unet, read_starter_config

        cfg = read_starter_config(folder)
        dtype = getattr(torch, dtype_name)
        unet = build_unet(cfg).to(dtype).eval()
        size, channels = cfg.unet_size, cfg.image_channels + cfg.label_channels
        x = torch.randn(2, channels, size, size, generator=torch.Generator().manual_seed(0))
        x, t, styles = x.to(dtype), torch.tensor(500), torch.tensor([0, 1])
        return lambda: unet(x, t, class_labels=styles)

    return build


def starter_dtype(request: GenerationRequest) -> str:
    """The request's precision; Automatic: what ran faster for the starter on this CPU."""
    if request.dtype not in (None, "auto"):  # float16 has no fast CPU kernels: float32
        return request.dtype if request.dtype in ("float32", "bfloat16") else "float32"
    return automatic_dtype("cpu", "starter", probe=starter_probe(request.model_path))


class StarterEngine:
    """Runs starter diffusion requests on the CPU; keeps the last loaded model."""

    def __init__(self, shared: Any = None) -> None:
        # `shared`: the router's one ModelCache (one budget for every family)
        self.cache = ModelCache.sharing(shared)

    def load(self, path: str, dtype: str = "float32") -> LoadedStarter:
        import torch

        folder = Path(path).resolve()
        weights = sum(f.stat().st_size for f in folder.rglob("*.safetensors"))
        key = ("starter", str(folder), dtype)

        def load() -> tuple[LoadedStarter, int]:
            loaded = load_starter(path, dtype=getattr(torch, dtype))
            return loaded, module_bytes(loaded)

        return self.cache.fetch(key, 2 * weights, load)

    def run(
        self,
        request: GenerationRequest,
        on_step: Callable[[StepPreview], None],
        cancel: threading.Event,
    ) -> GenerationResult | None:
        """Generate; on cancel return the last preview as a draft (None if no step ran)."""
        import torch

        from studio.engine.starter.sampling import sample

        validate(request)
        if cancel.is_set():
            return None
        steps = request.num_inference_steps
        runs = request.batch_count
        on_step(StepPreview(0, steps * runs, None, 0.0, phase="loading"))
        loaded = self.load(request.model_path, starter_dtype(request))
        cfg = loaded.cfg
        reading = vocab.read_prompt(request.prompt)
        labels, label_source = starter_labels(request, reading, cfg.native_size, request.seed)
        onehot = None if labels is None else labels_to_onehot(labels, cfg.native_size)
        init, mask = self._init_and_mask(request, cfg.native_size)
        total = len(_plan_steps(steps, request.strength if init is not None else 1.0)) * runs
        state: dict[str, Any] = {"done": 0, "last": None}
        recorder = StepRecorder("starter", request.record_cap_bytes)
        recorder.expect(total, request.width, request.height, cfg.scheduler)
        started = time.perf_counter()

        def record(scheduler: Any, t: Any, xt: Any, x0: Any) -> None:
            recorder.step_called(scheduler, t)
            recorder.step_done(scheduler, xt, x0, state["done"] + 1)

        def step(i: int, _n: int, x0: np.ndarray) -> None:
            state["done"] += 1
            state["last"] = x0
            elapsed = time.perf_counter() - started
            on_step(StepPreview(state["done"], total, x0, elapsed, record=recorder.live()))
            if cancel.is_set():
                raise Cancelled

        images: list[np.ndarray] = []
        seeds: list[int] = []
        try:
            for run in range(runs):
                seed = request.seed + run * request.batch_size
                gen = torch.Generator().manual_seed(seed)
                batch = request.batch_size
                hot = None if onehot is None else onehot[None].expand(batch, -1, -1, -1)
                recorder.begin_run()
                with cancel_points(cancel, loaded.unet):  # also inside a step
                    out = sample(
                        loaded, hot, [reading.style_id] * batch, steps, request.guidance_scale,
                        generator=gen, on_step=step, init_image=init, known_mask=mask,
                        strength=request.strength if init is not None else 1.0, on_state=record,
                    )  # fmt: skip
                images += [self._finish(img, request) for img in out]
                seeds += list(range(seed, seed + batch))
        except Cancelled:
            seconds = time.perf_counter() - started
            if state["last"] is None:
                return None
            image = self._finish(state["last"], request)
            recipe = self._recipe(request, loaded, reading, label_source, seconds, state, True)
            return GenerationResult(
                image, request, recipe, True, state["done"], seconds, record=recorder.live()
            )
        seconds = time.perf_counter() - started
        recipe = self._recipe(request, loaded, reading, label_source, seconds, state, False)
        recipe["seeds"] = seeds
        return GenerationResult(
            images[0], request, recipe, False, state["done"], seconds, tuple(images),
            recorder.live(),
        )  # fmt: skip

    def _init_and_mask(self, request: GenerationRequest, native: int):
        """img2img/inpaint inputs at native size: ([1,3,n,n] in -1..1, [1,1,n,n] keep-mask)."""
        import torch

        if request.init_image is None:
            return None, None
        small = resize(np.asarray(request.init_image), native, native)
        init = torch.from_numpy(small.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
        if request.mask is None:
            return init, None
        repaint = resize(np.asarray(request.mask), native, native) >= 128
        keep = torch.from_numpy((~repaint).astype(np.float32))[None, None]
        return init, keep

    def _finish(self, image: np.ndarray, request: GenerationRequest) -> np.ndarray:
        """Native picture -> canvas size; inpainting pastes it back through a feathered mask."""
        big = resize(np.asarray(image), request.width, request.height)
        if request.mask is None or request.init_image is None:
            return big
        from studio.engine.starter.composite import feathered_composite

        return feathered_composite(
            np.asarray(request.init_image), big, np.asarray(request.mask), request.mask_blur
        )

    def _recipe(self, request, loaded, reading, label_source, seconds, state, draft):
        from studio.engine.versions import versions

        cfg = loaded.cfg
        recipe = request.describe()
        recipe.update(
            model_name=loaded.folder.name,
            model_family="starter",
            engine="starter",
            scheduler=cfg.scheduler,
            sampler_used=cfg.scheduler,
            native_size=cfg.native_size,
            resized=(
                f"generated at {cfg.native_size}x{cfg.native_size} (the starter's native size) "
                f"and resized to {request.width}x{request.height} (bicubic)"
            ),
            style_id=reading.style_id,
            style={"time": reading.time, "weather": reading.weather, "season": reading.season},
            materials=list(reading.materials),
            ignored_words=list(reading.ignored),
            label_map_source=label_source,
            device=loaded.device,
            dtype=str(loaded.dtype).removeprefix("torch."),
            precision=recipe_note(request.dtype, "cpu", "starter"),
            steps_done=state["done"],
            draft=draft,
            seconds=round(seconds, 3),
            versions=versions(),
        )
        return recipe


def _plan_steps(steps: int, strength: float) -> list[int]:
    """Which of `steps` schedule steps an img2img run with `strength` makes (the last ones)."""
    start = steps - max(1, min(steps, int(round(steps * strength))))
    return list(range(start, steps))
