"""Studio document package."""
