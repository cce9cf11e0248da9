"""Studio app package."""
