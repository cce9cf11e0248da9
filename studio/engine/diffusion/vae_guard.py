"""Half-precision VAE decodes that overflow to NaN/inf (a black picture) are redone in float32."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)
REDECODE_NOTE = (
    "The half-precision VAE decode overflowed (it would have been a black picture); "
    "decoded again in float32."
)
BAD_LATENTS = (
    "The picture came out black: the model produced invalid numbers (NaN) in {dtype}. "
    "Choose float32 in Preferences → Precision and generate again."
)


def _half(dtype: Any) -> bool:
    import torch

    return dtype in (torch.float16, torch.bfloat16)


class Fp32Redecode:
    """For one job, wraps `vae.decode`: a half-precision output holding NaN/inf is decoded
    again with the VAE in float32 (SDXL's VAE overflows in fp16). NaN already in the latents
    cannot be fixed by the decode; that is recorded in `bad_latents` for the engine to report."""

    def __init__(self, vae: Any) -> None:
        self.vae = vae
        self.redecoded = 0
        self.bad_latents = False
        self._original: Any = None

    def __enter__(self) -> Fp32Redecode:
        if "decode" not in vars(self.vae):  # never wrap twice (the refiner may share the VAE)
            self._original = self.vae.decode
            self.vae.decode = self._decode
        return self

    def __exit__(self, *exc: object) -> None:
        if self._original is not None:
            del self.vae.decode  # the class's method again
            self._original = None

    def _decode(self, z: Any, return_dict: bool = True, **kwargs: Any) -> Any:
        import torch

        out = self._original(z, return_dict=return_dict, **kwargs)
        sample = out.sample if return_dict else out[0]
        if not _half(sample.dtype) or bool(torch.isfinite(sample).all()):
            return out
        if not bool(torch.isfinite(z).all()):
            self.bad_latents = True
            return out
        log.warning("%s VAE decode gave NaN/inf; decoding again in float32", sample.dtype)
        dtype = self.vae.dtype
        self.vae.to(torch.float32)
        try:
            out = self._original(z.float(), return_dict=return_dict, **kwargs)
        finally:
            self.vae.to(dtype)
        self.redecoded += 1
        return out
