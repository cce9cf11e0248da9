"""Starter models made by this project: vocabulary/conditioning shared with training."""
