"""The starter SPADE's discriminator and GAN losses (training only; never shipped).

Multi-scale PatchGAN: `scales` copies of a 4-layer patch classifier with spectral norm, each
on the (labels ‖ picture) input average-pooled by 2 once more than the previous one. Each
returns its intermediate activations (for feature matching) and its logit map last.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace


@functools.cache
def _modules() -> SimpleNamespace:
    """Torch classes, defined on first use (importing Studio never loads torch)."""
    import torch.nn.functional as F
    from torch import nn
    from torch.nn.utils.parametrizations import spectral_norm

    class PatchDiscriminator(nn.Module):
        """conv4 s2 -> conv4 s2 -> conv4 s1 -> conv4 s1 logits; spectral norm, leaky ReLU."""

        def __init__(self, in_nc: int, width: int) -> None:
            super().__init__()
            chans = [in_nc, width, 2 * width, 4 * width]
            self.layers = nn.ModuleList(
                spectral_norm(nn.Conv2d(a, b, 4, stride=2 if i < 2 else 1, padding=2))
                for i, (a, b) in enumerate(zip(chans[:-1], chans[1:], strict=True))
            )
            self.out = spectral_norm(nn.Conv2d(chans[-1], 1, 4, padding=2))

        def forward(self, x):
            feats = []
            for layer in self.layers:
                x = F.leaky_relu(layer(x), 0.2)
                feats.append(x)
            feats.append(self.out(x))
            return feats

    class MultiscaleDiscriminator(nn.Module):
        """PatchGANs at full, 1/2, 1/4… resolution; returns one feature list per scale."""

        def __init__(self, in_nc: int, width: int, scales: int) -> None:
            super().__init__()
            self.scales = nn.ModuleList(PatchDiscriminator(in_nc, width) for _ in range(scales))

        def forward(self, x):
            outs = []
            for i, disc in enumerate(self.scales):
                if i:
                    x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
                outs.append(disc(x))
            return outs

    return SimpleNamespace(Multiscale=MultiscaleDiscriminator)


def build_discriminator(in_nc: int, width: int = 32, scales: int = 2):
    """A multi-scale PatchGAN discriminator in train mode."""
    return _modules().Multiscale(in_nc, width, scales).train()


def hinge_d(pred_real, pred_fake):
    """Discriminator hinge loss, averaged over scales: relu(1 - real) + relu(1 + fake)."""
    import torch.nn.functional as F

    total = 0.0
    for real, fake in zip(pred_real, pred_fake, strict=True):
        total = total + F.relu(1 - real[-1]).mean() + F.relu(1 + fake[-1]).mean()
    return total / len(pred_real)


def hinge_g(pred_fake):
    """Generator hinge loss: -mean fake logit, averaged over scales."""
    return sum(-fake[-1].mean() for fake in pred_fake) / len(pred_fake)


def feature_matching(pred_fake, pred_real):
    """L1 between the fakes' and the reals' intermediate activations, mean over layers/scales."""
    import torch.nn.functional as F

    total, count = 0.0, 0
    for fake, real in zip(pred_fake, pred_real, strict=True):
        for f, r in zip(fake[:-1], real[:-1], strict=True):
            total = total + F.l1_loss(f, r.detach())
            count += 1
    return total / max(1, count)
