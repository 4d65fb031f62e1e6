"""forge-diffusion: denoising diffusion for forge.

Noise schedules (:mod:`forge.diffusion.schedules`), DDPM and DDIM samplers
(:mod:`forge.diffusion.samplers`), UNet, MLP and latent-diffusion models trained through forge's
standard Trainer (:mod:`forge.diffusion.models`), quality measures (:mod:`forge.diffusion.metrics`),
sampling from run directories (:mod:`forge.diffusion.sampling`) and the ``forge sample`` command.

Importing this package is light (no torch); components are reached through forge's registry::

    from forge.core import registry
    model = registry.build("model", "diffusion.unet", num_classes=10)
    schedule = registry.build("transform", "diffusion.noise_schedule", beta_schedule="cosine")

or from the subpackages above, which import torch.
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["FORGE_PLUGIN_API", "__version__"]

FORGE_PLUGIN_API = 1
"""The forge plugin API version this package implements (also set in :mod:`forge.diffusion.plugin`)."""

try:
    __version__: str = metadata.version("forge-diffusion")
except metadata.PackageNotFoundError:  # running from a source checkout that is not installed
    __version__ = "0.2.0"
