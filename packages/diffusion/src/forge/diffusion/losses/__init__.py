"""The denoising MSE and the KL-autoencoder loss (imports torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.diffusion.losses.configs import DenoisingLossConfig as DenoisingLossConfig
    from forge.diffusion.losses.configs import VAELossConfig as VAELossConfig
    from forge.diffusion.losses.denoising import DenoisingLoss as DenoisingLoss
    from forge.diffusion.losses.denoising import VAELoss as VAELoss

__getattr__, __dir__ = lazy_exports(__name__, __file__)
