"""Studio: a desktop app for making and editing images with generative models."""

__version__ = "0.1.0"
