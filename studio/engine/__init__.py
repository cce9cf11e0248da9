"""Studio engine package."""
