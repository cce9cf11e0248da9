"""Studio engine gan package."""
