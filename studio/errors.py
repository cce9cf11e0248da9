"""Precise, user-facing exceptions raised by the engine (plain words first, details on demand)."""

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
