"""forge-diffusion: noise schedules and the forward (noising) process of denoising diffusion.

Importing this package is light (no torch); components are reached through forge's registry::

    from forge.core import registry
    schedule = registry.build("transform", "diffusion.noise_schedule", beta_schedule="cosine")
    (x_t, t), noise = schedule(x0)

or directly from :mod:`forge.diffusion.schedules`, which imports torch.
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["FORGE_PLUGIN_API", "__version__"]

FORGE_PLUGIN_API = 1
"""The forge plugin API version this package implements (also set in :mod:`forge.diffusion.plugin`)."""

try:
    __version__: str = metadata.version("forge-diffusion")
except metadata.PackageNotFoundError:  # running from a source checkout that is not installed
    __version__ = "0.1.0"
