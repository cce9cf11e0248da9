"""What a seed means for a StyleGAN model: the z NVIDIA's gen_images.py / generate.py draw,
`np.random.RandomState(seed).randn(1, z_dim)`, so a seed from a published grid gives the same
picture here; and the one-hot class vector for conditional models."""

from __future__ import annotations

import numpy as np
import torch

from studio.errors import InvalidRequestError

MAX_SEED = 2**32 - 1  # RandomState takes 0 … 2**32 - 1


def z_for_seed(seed: int, z_dim: int) -> torch.Tensor:
    """1xZ float64, exactly as NVIDIA's scripts make it (they cast to float32 in the mapping)."""
    if not 0 <= int(seed) <= MAX_SEED:
        raise InvalidRequestError(f"A StyleGAN seed is between 0 and {MAX_SEED}, not {seed}.")
    return torch.from_numpy(np.random.RandomState(int(seed)).randn(1, z_dim))


def one_hot(class_index: int | None, c_dim: int) -> torch.Tensor:
    """1xC: the class label for a conditional model (zeros for an unconditional one)."""
    c = torch.zeros(1, c_dim)
    if c_dim == 0:
        if class_index is not None:
            raise InvalidRequestError("This model has no classes; leave the class empty.")
        return c
    if class_index is None:
        raise InvalidRequestError(f"This model is class-conditional: choose a class 0…{c_dim - 1}.")
    if not 0 <= class_index < c_dim:
        raise InvalidRequestError(f"This model has classes 0…{c_dim - 1}, not {class_index}.")
    c[0, class_index] = 1
    return c
