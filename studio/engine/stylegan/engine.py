"""The StyleGAN engine's seam: run(request, on_step, cancel) -> result, one pass, one preview."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from studio.engine.cancel import cancel_points
from studio.engine.memory.cache import ModelCache, module_bytes
from studio.engine.memory.device import choose_device
from studio.engine.requests import GenerationResult, StepPreview
from studio.engine.stylegan.requests import StyleGANRequest, exact_fields, mix_range
from studio.engine.versions import versions
from studio.errors import Cancelled, InvalidRequestError

log = logging.getLogger(__name__)


def load_generator(path: str | Path, device: str = "cpu") -> Any:
    """Our generator with the file's weights, on `device`, ready for inference."""
    from studio.engine.stylegan.load import build, load_generator_weights

    config, sd = load_generator_weights(path)
    return build(config, sd).to(device)


def to_uint8(img: Any) -> np.ndarray:
    """1xCxHxW in about -1..1 -> HxWx3 uint8, rounded as NVIDIA's scripts do (x*127.5+128)."""
    import torch

    pixels = (img[0].permute(1, 2, 0) * 127.5 + 128).clamp(0, 255).to(torch.uint8).cpu().numpy()
    if pixels.shape[2] == 1:
        pixels = np.repeat(pixels, 3, axis=2)
    return np.ascontiguousarray(pixels[:, :, :3])


def styles(net: Any, request: StyleGANRequest, device: str) -> Any:
    """The W vectors (1xnum_wsxW) for the request: seed, class, ψ, a walk towards the
    variation seed (a straight line in W), then style mixing."""
    from studio.engine.stylegan.seeds import one_hot, z_for_seed

    cfg, psi = net.cfg, request.truncation
    c = one_hot(request.class_index, cfg.c_dim).to(device)

    def w_of(seed: int) -> Any:
        return net.mapping(z_for_seed(seed, cfg.z_dim).to(device), c, psi)

    ws = w_of(request.seed)
    if request.variation_seed is not None and request.variation_strength:
        ws = ws.lerp(w_of(request.variation_seed), float(request.variation_strength))  # in W
    if request.mix_seed is not None:
        layers = list(mix_range(request.mix_layers, cfg.num_ws))
        ws[:, layers] = w_of(request.mix_seed)[:, layers]
    return ws


def place(net: Any, request: StyleGANRequest) -> None:
    """StyleGAN3: the input transform from pan/rotate, set for every picture as NVIDIA's
    gen_images.py does (identity by default, whatever the file stored)."""
    moved = request.translate != (0.0, 0.0) or request.rotate != 0.0
    if hasattr(net, "set_transform"):
        net.set_transform(request.translate, request.rotate)
    elif moved:
        raise InvalidRequestError("Only StyleGAN3 models can pan and rotate the picture.")


class StyleGANEngine:
    """Runs StyleGANRequests; generators are kept in the router's shared model cache."""

    def __init__(self, shared: Any = None) -> None:
        self.cache = ModelCache.sharing(shared)

    def _load(self, path: Path, device: str) -> Any:
        mtime = path.stat().st_mtime if path.exists() else 0.0
        key = ("stylegan", str(path.resolve()), device, mtime)
        size = path.stat().st_size if path.exists() else 0

        def load() -> tuple[Any, int]:
            net = load_generator(path, device)
            log.info("loaded StyleGAN generator %s on %s", path.name, device)
            return net, module_bytes(net)

        return self.cache.fetch(key, size, load, device)

    def run(
        self,
        request: StyleGANRequest,
        on_step: Callable[[StepPreview], None],
        cancel: threading.Event,
    ) -> GenerationResult | None:
        """One picture; None when cancelled before it exists."""
        import torch

        if not isinstance(request, StyleGANRequest):
            raise InvalidRequestError(f"The StyleGAN engine cannot run a {type(request).__name__}.")
        device = choose_device(request.device)
        if cancel.is_set():
            return None
        on_step(StepPreview(0, 1, None, 0.0, phase="loading"))
        net = self._load(Path(request.model_path), device)
        if cancel.is_set():
            return None
        started = time.perf_counter()
        gen = torch.Generator(device=device).manual_seed(int(request.seed))  # "random" noise
        try:
            with torch.no_grad(), cancel_points(cancel, net.synthesis):
                place(net, request)
                img = net.synthesize(styles(net, request, device), request.noise_mode, gen)
        except Cancelled:
            return None
        image = to_uint8(img)
        seconds = time.perf_counter() - started
        on_step(StepPreview(1, 1, image, seconds))
        recipe = request.describe()
        recipe.update(
            resolution=net.cfg.img_resolution, classes=net.cfg.c_dim, steps_done=1,
            generation=net.cfg.generation, request=exact_fields(request),
            draft=False, seconds=round(seconds, 3), versions=versions(("torch",)),
        )  # fmt: skip
        return GenerationResult(image, request, recipe, False, 1, seconds)  # type: ignore[arg-type]
