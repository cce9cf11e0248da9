"""Read an NVlabs network pickle (StyleGAN2-ADA / StyleGAN3, PyTorch) without running it.

NVlabs' pickles store each network as a call to `torch_utils.persistence.
_reconstruct_persistent_obj(meta)`, where `meta` holds the class's Python source, its name and
the module's state (parameters, buffers, sub-modules, constructor arguments). NVIDIA's own loader
executes that source. Ours maps the call to a plain record and rebuilds nothing but tensors,
dicts and numbers: every other global the file names is refused by name, before it is imported.
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import ModelLoadError

MAX_PICKLE_BYTES = 4 * 2**30  # the largest NVlabs pickles (G, D, G_ema at 1024²) are ~400 MB


class UnsafePickleError(ModelLoadError):
    """The pickle names a global that loading it would import or call; it was not loaded."""


@dataclass
class Persistent:
    """What NVlabs' persistence decorator stored for one network: never instantiated."""

    class_name: str  # "training.networks.Generator", …
    state: dict[str, Any]
    source_bytes: int = 0  # the length of the embedded source we did not run

    @property
    def init_kwargs(self) -> dict[str, Any]:
        return dict(self.state.get("_init_kwargs") or {})

    def tensors(self, prefix: str = "") -> dict[str, Any]:
        """The state dict this module (and its sub-modules) would give: name -> tensor."""
        out: dict[str, Any] = {}
        skip = set(self.state.get("_non_persistent_buffers_set") or ())
        for group in ("_parameters", "_buffers"):
            for name, value in (self.state.get(group) or {}).items():
                if value is not None and name not in skip:
                    out[prefix + name] = value
        for name, child in (self.state.get("_modules") or {}).items():
            if isinstance(child, Persistent):
                out.update(child.tensors(f"{prefix}{name}."))
            elif child is not None:
                raise ModelLoadError(f"Sub-network {prefix}{name} is not a stored NVlabs module.")
        return out


class EasyDict(dict):
    """Stands in for dnnlib.util.EasyDict: a dict, nothing more."""


def _persistent(meta: Mapping[str, Any]) -> Persistent:
    if not isinstance(meta, Mapping) or meta.get("type") != "class":
        raise ModelLoadError("The pickle holds an NVlabs object of an unknown kind.")
    state = meta.get("state")
    return Persistent(
        str(meta.get("class_name", "")),
        dict(state) if isinstance(state, Mapping) else {},
        len(meta.get("module_src") or ""),
    )


def _storage_from_bytes(data: bytes) -> Any:
    import torch

    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _allowed() -> dict[tuple[str, str], Any]:
    """(module, name) -> the harmless object that stands in for it."""
    import numpy as np
    import torch

    multiarray = (getattr(np, "_core", None) or np.core).multiarray
    allowed: dict[tuple[str, str], Any] = {
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _persistent,
        ("dnnlib.util", "EasyDict"): EasyDict,
        ("collections", "OrderedDict"): OrderedDict,
        ("builtins", "set"): set,
        ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
        ("torch.storage", "_load_from_bytes"): _storage_from_bytes,
        ("numpy", "dtype"): np.dtype,
    }
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "scalar")] = multiarray.scalar
    return allowed


class _Restricted(pickle.Unpickler):
    """An unpickler that imports nothing: globals come from the allowlist or are refused."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._allowed = _allowed()

    def find_class(self, module: str, name: str) -> Any:
        found = self._allowed.get((module, name))
        if found is None:
            raise UnsafePickleError(
                f"The file was refused: it asks to run “{module}.{name}”, which is not part "
                "of a StyleGAN network's weights. Nothing in it was run.",
                f"global {module}.{name}",
            )
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("The file uses persistent ids; it is not an NVlabs pickle.")


@dataclass
class NetworkPickle:
    """The networks an NVlabs pickle holds (by key: "G_ema", "G", "D", …) and its other data."""

    networks: dict[str, Persistent] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


def read_network_pickle(path: Path) -> NetworkPickle:
    """The networks of an NVlabs .pkl, read through the restricted unpickler (never run)."""
    path = Path(path)
    if path.stat().st_size > MAX_PICKLE_BYTES:
        raise ModelLoadError(f"{path.name} is too large to be a StyleGAN network pickle.")
    try:
        with open(path, "rb") as f:
            data = _Restricted(f).load()
    except ModelLoadError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, RuntimeError, OverflowError, MemoryError) as exc:  # fmt: skip
        raise ModelLoadError(
            f"{path.name} is damaged or not a network pickle.", f"{type(exc).__name__}: {exc}"
        ) from exc
    if not isinstance(data, Mapping):
        raise ModelLoadError(f"{path.name} does not hold a dictionary of networks.")
    found = NetworkPickle()
    for key, value in data.items():
        (found.networks if isinstance(value, Persistent) else found.extras)[str(key)] = value
    return found
