"""Import the heavy libraries ahead of the first job, so Generate does not wait for them."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)
_started = threading.Event()


def _import_libraries() -> None:
    started = time.perf_counter()
    try:
        import diffusers  # noqa: F401  (the import itself is the work)
        import torch  # noqa: F401
        from diffusers import StableDiffusionPipeline  # noqa: F401  (lazy module tree)
    except ImportError as exc:  # the first job reports it in plain words
        log.warning("could not preload the generation libraries: %s", exc)
        return
    log.info("generation libraries ready in %.1f s", time.perf_counter() - started)


def preload_in_background() -> threading.Thread | None:
    """Start the imports once, on a low-key daemon thread; None if already started.

    A job that starts meanwhile simply waits on Python's import lock for the same modules.
    """
    if _started.is_set():
        return None
    _started.set()
    thread = threading.Thread(target=_import_libraries, name="studio-preload", daemon=True)
    thread.start()
    return thread
