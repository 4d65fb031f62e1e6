"""Config classes of the diffusion losses (no torch import)."""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field

__all__ = ["DenoisingLossConfig", "VAELossConfig"]


def _non_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


@attrs.frozen
class DenoisingLossConfig:
    """Mean squared error between a diffusion model's prediction and its target."""


@attrs.frozen
class VAELossConfig:
    """Reconstruction error plus a weighted KL divergence of the latent to N(0, I)."""

    kl_weight: float = field(
        1e-4, help="Weight of the per-sample KL term (summed over latent elements).", validator=_non_negative
    )
