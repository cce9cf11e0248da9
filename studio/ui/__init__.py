"""Studio ui package."""
