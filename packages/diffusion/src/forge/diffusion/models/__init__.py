"""Denoisers (UNet, MLP), the diffusion training wrapper, and the KL autoencoder (imports torch)."""

from __future__ import annotations

from forge.diffusion.models.configs import (
    DiffusionConfig,
    DiffusionMLPConfig,
    DiffusionUNetConfig,
    LatentDiffusionConfig,
    MLPDenoiserConfig,
    UNetConfig,
    VAEConfig,
)
from forge.diffusion.models.diffusion import DiffusionModel, LatentDiffusionModel
from forge.diffusion.models.mlp import MLPDenoiser
from forge.diffusion.models.unet import UNet
from forge.diffusion.models.vae import KLAutoencoder

__all__ = [
    "DiffusionConfig",
    "DiffusionMLPConfig",
    "DiffusionModel",
    "DiffusionUNetConfig",
    "KLAutoencoder",
    "LatentDiffusionConfig",
    "LatentDiffusionModel",
    "MLPDenoiser",
    "MLPDenoiserConfig",
    "UNet",
    "UNetConfig",
    "VAEConfig",
]
