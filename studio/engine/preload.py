"""Import the heavy libraries ahead of the first job, so Generate does not wait for them."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)
_started = threading.Event()
_thread: threading.Thread | None = None


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

    Jobs call `wait_until_loaded` first: two threads importing the same packages at once can
    see each other's half-initialised modules (transformers then fails with an ImportError).
    """
    global _thread
    if _started.is_set():
        return None
    _started.set()
    _thread = threading.Thread(target=_import_libraries, name="studio-preload", daemon=True)
    _thread.start()
    return _thread


def wait_until_loaded() -> None:
    """Block until a started preload has finished (at once when none was started)."""
    thread = _thread
    if thread is not None and thread is not threading.current_thread():
        thread.join()


def is_loading() -> bool:
    """True while the background imports run (the GUI thread must not import torch then)."""
    thread = _thread
    return thread is not None and thread.is_alive()
