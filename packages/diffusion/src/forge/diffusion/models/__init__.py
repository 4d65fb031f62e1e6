"""Denoisers (UNet, MLP), the diffusion training wrapper, and the KL autoencoder (imports torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core import lazy_exports

if TYPE_CHECKING:
    from forge.diffusion.models.configs import DiffusionConfig as DiffusionConfig
    from forge.diffusion.models.configs import DiffusionMLPConfig as DiffusionMLPConfig
    from forge.diffusion.models.configs import DiffusionUNetConfig as DiffusionUNetConfig
    from forge.diffusion.models.configs import LatentDiffusionConfig as LatentDiffusionConfig
    from forge.diffusion.models.configs import MLPDenoiserConfig as MLPDenoiserConfig
    from forge.diffusion.models.configs import UNetConfig as UNetConfig
    from forge.diffusion.models.configs import VAEConfig as VAEConfig
    from forge.diffusion.models.diffusion import DiffusionModel as DiffusionModel
    from forge.diffusion.models.diffusion import LatentDiffusionModel as LatentDiffusionModel
    from forge.diffusion.models.mlp import MLPDenoiser as MLPDenoiser
    from forge.diffusion.models.unet import UNet as UNet
    from forge.diffusion.models.vae import KLAutoencoder as KLAutoencoder

__getattr__, __dir__ = lazy_exports(__name__, __file__)
