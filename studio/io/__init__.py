"""Studio io package."""
