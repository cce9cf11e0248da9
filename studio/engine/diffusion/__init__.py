"""Studio engine diffusion package."""
