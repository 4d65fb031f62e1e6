"""Config classes of the diffusion losses (no torch import)."""

from __future__ import annotations

import attrs

from forge.core.config import field

__all__ = ["DenoisingLossConfig", "VAELossConfig"]


@attrs.frozen
class DenoisingLossConfig:
    """Mean squared error between a diffusion model's prediction and its target."""


@attrs.frozen
class VAELossConfig:
    """Reconstruction error plus a weighted KL divergence of the latent to N(0, I)."""

    kl_weight: float = field(1e-4, help="Weight of the per-sample KL term (summed over latent elements).", ge=0)
