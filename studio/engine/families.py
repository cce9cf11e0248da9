"""The registry of model families, the unit of extension: what each recognises, runs and offers.

A family is one folder under `studio/engine/` with a `family.py` that defines a `Family`
subclass and an instance named `FAMILY`. Built-in families are listed in `BUILTIN` (module
names, imported on first use, so listing them costs nothing at start-up); a plugin or a test
calls `register()`. Every front door (the window's worker, `studio generate`, `studio translate`,
later batches and a remote worker) reaches a family through `studio.engine.router.EngineRouter`,
and builds its requests through `Family.build_request`, so a model that works in the window
works headless with the same recipe.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.engine.inputs import Built, GenerateParams, Inputs
from studio.errors import ModelLoadError, StudioError

if TYPE_CHECKING:
    from studio.engine.models.registry import ModelInfo

# The order families look at files in. A family may answer "unknown" for a weight file with no
# part it runs, and the next one is asked: Stable Diffusion reads a file's keys before the GAN
# family does, since its checkpoints are the big ones.
BUILTIN = (
    "studio.engine.starter.family",
    "studio.engine.diffusion.family",
    "studio.engine.gan.family",
    "studio.engine.stylegan.family",
)
MODES = ("prompt", "paint", "inpaint", "translate", "sample")  # the Generate dock's tabs


class Family:
    """One model family. Subclasses set the class attributes and override what they offer."""

    name: str = ""  # the engine folder's name: "diffusion", "starter", "gan", …
    title: str = ""  # for the artist: "Stable Diffusion", "Starter", "GAN"
    request_types: tuple[type, ...] = ()  # the requests its engine runs
    modes: tuple[str, ...] = ()  # the Generate modes it serves (MODES)
    generic: bool = False  # takes its request types when no model path decides
    suffixes: tuple[str, ...] = ()  # single files it may recognise (".safetensors", …)
    markers: tuple[str, ...] = ()  # files that make a folder one of its models
    defaults: dict[str, Any] = {}  # setting values that suit its models (e.g. a lower CFG)
    preflight: bool = False  # its jobs' memory can be estimated before they run (memory/)
    controlnet_for_labels: bool = False  # paints from labels through a segmentation ControlNet

    def recognises(self, path: Path) -> bool:
        """Cheap test (no weights read): is `path` one of this family's models?"""
        return False

    def inspect(self, path: Path) -> ModelInfo | None:
        """Recognise `path` (file or folder): its ModelInfo, or None when it is not ours.
        Raise ModelLoadError for a file that is ours but unreadable."""
        return None

    def unknown_words(self, prompt: str) -> tuple[str, ...]:
        """Words of `prompt` its models do not understand (shown under the prompt)."""
        return ()

    def make_engine(self, cache: Any = None) -> Any:
        """A new engine: an object with `run(request, on_step, cancel) -> result`. `cache` is
        the router's one model cache (studio/engine/memory/cache.py): load through it so every
        family shares one memory budget."""
        raise NotImplementedError(f"the {self.name} family has no engine")

    def needs(self, mode: str, params: GenerateParams) -> frozenset[str]:
        """Which inputs `mode` takes from the document: "picture", "mask", "labels",
        "reference". The default is the diffusion convention every prompt model shares."""
        if mode == "inpaint":
            labels = ("labels",) if params.inpaint_from_labels else ()
            return frozenset({"picture", "mask", *labels})
        if mode == "paint":
            picture = ("picture",) if params.paint_from_canvas else ()
            return frozenset({"labels", *picture})
        if mode == "translate":
            return frozenset({"picture"})
        return frozenset({"picture"}) if params.img2img else frozenset()

    def build_request(
        self, mode: str, model_path: str, params: GenerateParams, inputs: Inputs
    ) -> Built:
        """The frozen request for `mode` from plain settings and inputs (no document)."""
        raise StudioError(f"{self.title or self.name} models cannot make a “{mode}” picture.")

    def request_from_recipe(self, recipe: dict, arrays: dict[str, Any]) -> Any:
        """The request a recipe describes (Re-run exactly); StudioError if it cannot be made."""
        raise StudioError(f"{self.title or self.name} results cannot be re-run exactly yet.")


_lock = threading.Lock()
_registered: list[Family] = []
_builtins_loaded = False


def _load_builtins() -> None:
    global _builtins_loaded
    with _lock:
        if _builtins_loaded:
            return
        found = [importlib.import_module(name).FAMILY for name in BUILTIN]
        _registered[:0] = [f for f in found if f.name not in {r.name for r in _registered}]
        _builtins_loaded = True


def register(family: Family, first: bool = True) -> Family:
    """Add a family (a plugin's or a test's); `first` lets it look at files before the built-in
    ones. Registering a name again replaces the earlier family of that name."""
    _load_builtins()
    with _lock:
        _registered[:] = [f for f in _registered if f.name != family.name]
        _registered.insert(0, family) if first else _registered.append(family)
    return family


def unregister(name: str) -> None:
    with _lock:
        _registered[:] = [f for f in _registered if f.name != name]


def families() -> tuple[Family, ...]:
    """Every registered family, in the order they look at files."""
    _load_builtins()
    with _lock:
        return tuple(_registered)


def family_named(name: str) -> Family:
    for family in families():
        if family.name == name:
            return family
    raise StudioError(f"Studio has no model family called “{name}”.")


def model_suffixes() -> frozenset[str]:
    """Every single-file suffix some family recognises (lower case, with the dot)."""
    return frozenset(s for f in families() for s in f.suffixes)


def model_markers() -> frozenset[str]:
    """Every file name that makes a folder a model of some family."""
    return frozenset(m for f in families() for m in f.markers)


def family_of_model(model: str | Path | ModelInfo | None) -> Family | None:
    """The one place that decides which family a model belongs to: the family that recognised
    it when the folders were scanned (ModelInfo.owner), else the files are inspected now.
    None when no family knows it (or it cannot be read)."""
    if model is None or model == "":
        return None
    owner = getattr(model, "owner", None)  # a ModelInfo (a Path has an owner() method)
    if isinstance(owner, str) and owner:
        return family_named(owner)
    try:
        info = inspect_model(Path(getattr(model, "path", model)))
    except StudioError:
        return None
    return family_named(info.owner) if info and info.kind != "unknown" and info.owner else None


def inspect_model(path: Path) -> ModelInfo | None:
    """Ask each family in turn what `path` is. A family may answer "unknown" (e.g. a weight
    file with no part it runs): the next one is asked, and the first such answer is kept if
    nobody knows the file. None when no family answered; the first ModelLoadError when the
    families that looked could not read it."""
    fallback: ModelInfo | None = None
    error: ModelLoadError | None = None
    for family in families():
        try:
            info = family.inspect(path)
        except ModelLoadError as exc:
            error = error or exc
            continue
        if info is None:
            continue
        info = info if info.owner else replace(info, owner=family.name)
        if info.kind != "unknown":
            return info
        fallback = fallback or info
    if fallback is None and error is not None:
        raise error
    return fallback


def family_for_request(request: Any) -> Family:
    """The family whose engine runs `request`: by its type, then by its model where two
    families share a request type (the starter and Stable Diffusion both take prompts)."""
    candidates = [f for f in families() if isinstance(request, f.request_types)]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:  # the cheap test only: this runs for every job
        path = getattr(request, "model_path", None)
        specific = [f for f in candidates if not f.generic]
        owner = next((f for f in specific if path and f.recognises(Path(path))), None)
        generic = [f for f in candidates if f.generic]
        if owner is not None or generic:
            return owner or generic[0]
    raise StudioError(
        f"No model family runs a {type(request).__name__}.",
        "Registered: " + ", ".join(f.name for f in families()),
    )
