"""Studio worker package."""
