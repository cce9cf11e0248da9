"""Recognising an out-of-memory (GPU or CPU allocator) and giving the memory back afterwards."""

from __future__ import annotations

import sys

# RuntimeError texts of allocators that ran out (CUDA, MPS, CPU's DefaultCPUAllocator)
OOM_TEXTS = ("out of memory", "not enough memory", "can't allocate memory", "cannot allocate")


def is_out_of_memory(exc: BaseException) -> bool:
    """torch.OutOfMemoryError, Python's MemoryError, or an allocator's RuntimeError."""
    if isinstance(exc, MemoryError):
        return True
    torch = sys.modules.get("torch")
    oom_type = getattr(torch, "OutOfMemoryError", None) if torch is not None else None
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(t in text for t in OOM_TEXTS)


def describe(exc: BaseException) -> str:
    """The technical line kept for Details (the exception object itself is not kept: its
    traceback would pin the failed job's tensors)."""
    return f"{type(exc).__name__}: {exc}"


def free_device_memory(device: str) -> None:
    """Collect what the failed job left and return it: the CUDA/MPS cache, or the C heap."""
    from studio.engine.memory.rss import trim

    trim()  # gc.collect() + malloc_trim: CPU tensors go back to the OS
    torch = sys.modules.get("torch")
    if torch is None:
        return
    if device == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    elif device == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()
