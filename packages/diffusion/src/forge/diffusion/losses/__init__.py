"""The denoising MSE and the KL-autoencoder loss (imports torch)."""

from __future__ import annotations

from forge.diffusion.losses.configs import DenoisingLossConfig, VAELossConfig
from forge.diffusion.losses.denoising import DenoisingLoss, VAELoss

__all__ = ["DenoisingLoss", "DenoisingLossConfig", "VAELoss", "VAELossConfig"]
