"""Studio training package."""
