"""Studio session package."""
