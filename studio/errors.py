"""Studio's shared exceptions: errors written for the artist, and Cancelled, which is not one."""

from __future__ import annotations


class StudioError(Exception):
    """An error whose message is written for the artist; `details` holds the technical part."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequestError(StudioError):
    """The request asks for something the model cannot do (size, steps, strength, sampler…)."""


class ModelLoadError(StudioError):
    """A model folder or file could not be recognised or loaded."""


class OutOfMemoryError(StudioError):
    """The device ran out of memory; the worker stays alive for the next job."""


class Cancelled(Exception):  # noqa: N818 - stopping on request is not an error
    """The artist (or a caller) stopped the work. Never reported as an error: whoever stopped it
    already knows. `message` says what happened in plain words, if anything is worth saying;
    `kept` tells whether partial work (a draft, a partial download) was kept."""

    def __init__(self, message: str = "", kept: bool = False) -> None:
        super().__init__(message or "cancelled")
        self.message = message
        self.kept = kept
