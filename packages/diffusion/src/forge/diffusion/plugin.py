"""forge-diffusion's entry-point module (``forge.plugins``: ``diffusion = "forge.diffusion.plugin"``).

Light on purpose: it imports only core's registration API and names builders and config classes
as ``"module:attr"`` strings, so ``forge plugins`` and ``forge list`` never import torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from forge.core.hookspecs import CommandRegister, Register, hookimpl

__all__ = [
    "FORGE_PLUGIN_API",
    "forge_register_commands",
    "forge_register_datasets",
    "forge_register_losses",
    "forge_register_models",
    "forge_register_recipes",
    "forge_register_transforms",
]

FORGE_PLUGIN_API = 1


class _Row(NamedTuple):
    """One component of a registration table: the arguments of :class:`forge.core.hookspecs.Register`."""

    name: str
    builder: str
    config: str | None
    summary: str
    tags: tuple[str, ...]
    defaults: Mapping[str, Any] | None = None
    example: str | None = None


def _register_rows(register: Register, rows: tuple[_Row, ...]) -> None:
    for row in rows:
        fields = row._asdict()
        # a registration error points at this line and names the component; its row is in a table below
        register(fields.pop("name"), **fields)


_M = "forge.diffusion.models"
_MODELS = (
    _Row(
        "unet",
        f"{_M}.diffusion:build_unet_diffusion",
        f"{_M}.configs:DiffusionUNetConfig",
        "Image diffusion model: UNet denoiser (GroupNorm, SiLU, attention), class/vector conditioning",
        ("diffusion", "generation", "image"),
        defaults={
            "unet": {
                "in_channels": 1,
                "image_size": 8,
                "base_channels": 32,
                "channel_mults": [1, 2],
                "num_res_blocks": 1,
                "attention_resolutions": [4],
                "norm_groups": 8,
            }
        },
        example=f"{_M}.diffusion:unet_example",
    ),
    _Row(
        "mlp",
        f"{_M}.diffusion:build_mlp_diffusion",
        f"{_M}.configs:DiffusionMLPConfig",
        "Diffusion model for low-dimensional vectors: residual MLP denoiser",
        ("diffusion", "generation", "tabular"),
        example=f"{_M}.diffusion:mlp_example",
    ),
    _Row(
        "latent_unet",
        f"{_M}.diffusion:build_latent_diffusion",
        f"{_M}.configs:LatentDiffusionConfig",
        "Latent diffusion: UNet denoiser in the latent space of a frozen KL autoencoder",
        ("diffusion", "generation", "image", "latent"),
        defaults={
            "vae": {"in_channels": 1, "base_channels": 16, "latent_channels": 2, "norm_groups": 8},
            "unet": {
                "in_channels": 2,
                "image_size": 4,
                "base_channels": 32,
                "channel_mults": [1, 2],
                "num_res_blocks": 1,
                "attention_resolutions": [2],
                "norm_groups": 8,
            },
        },
        example=f"{_M}.diffusion:latent_example",
    ),
    _Row(
        "vae",
        f"{_M}.vae:build_vae",
        f"{_M}.configs:VAEConfig",
        "Small convolutional KL-regularized autoencoder (latent diffusion's first stage)",
        ("diffusion", "autoencoder", "image"),
        defaults={"in_channels": 1, "base_channels": 16, "latent_channels": 2, "norm_groups": 8},
        example=f"{_M}.vae:vae_example",
    ),
)
_LOSSES = (
    _Row(
        "denoising_mse",
        "forge.diffusion.losses.denoising:build_denoising_loss",
        "forge.diffusion.losses.configs:DenoisingLossConfig",
        "MSE between a diffusion model's prediction and its own target (eps, x0 or v)",
        ("diffusion",),
    ),
    _Row(
        "vae_loss",
        "forge.diffusion.losses.denoising:build_vae_loss",
        "forge.diffusion.losses.configs:VAELossConfig",
        "Reconstruction MSE plus weighted KL divergence of a KL autoencoder",
        ("diffusion", "autoencoder"),
    ),
)
_DATASETS = (
    _Row(
        "toy2d",
        "forge.diffusion.datasets.toy2d:build_toy2d",
        "forge.diffusion.datasets.configs:Toy2DConfig",
        "Generated 2-D point clouds: two moons or a Swiss roll (no files)",
        ("generation", "builtin-data", "synthetic"),
    ),
    _Row(
        "digits",
        "forge.diffusion.datasets.digits:build_digits",
        "forge.diffusion.datasets.configs:DigitsConfig",
        "scikit-learn's bundled 8x8 digits in [-1, 1] with their labels, for generation (no download)",
        ("generation", "builtin-data", "image"),
    ),
)
_TRANSFORMS = (
    _Row(
        "noise_schedule",
        "forge.diffusion.schedules.noise:NoiseSchedule",
        "forge.diffusion.schedules.configs:NoiseScheduleConfig",
        "DDPM noise schedule (linear, cosine, scaled-linear) with q(x_t | x_0) and its closed forms",
        ("diffusion", "noise-schedule"),
    ),
)
# recipes are package resources ("package:file.toml") and have no config class
_RECIPES = (
    _Row(
        "toy2d",
        "forge.diffusion.recipes:toy2d.toml",
        None,
        "MLP diffusion on two moons; energy distance to held-out points as the quality measure",
        ("diffusion", "generation", "quickstart"),
    ),
    _Row(
        "digits",
        "forge.diffusion.recipes:digits.toml",
        None,
        "Class-conditional UNet diffusion on 8x8 digits with EMA and classifier-free guidance",
        ("diffusion", "generation", "image"),
    ),
)


@hookimpl
def forge_register_models(register: Register) -> None:
    """Register the diffusion models (denoiser + forward process) and the KL autoencoder."""
    _register_rows(register, _MODELS)


@hookimpl
def forge_register_losses(register: Register) -> None:
    """Register the denoising MSE and the autoencoder loss."""
    _register_rows(register, _LOSSES)


@hookimpl
def forge_register_datasets(register: Register) -> None:
    """Register the generated 2-D clouds and the digits for generation."""
    _register_rows(register, _DATASETS)


@hookimpl
def forge_register_transforms(register: Register) -> None:
    """Register the noise schedule (a transform: clean sample in, noised training pair out)."""
    _register_rows(register, _TRANSFORMS)


@hookimpl
def forge_register_recipes(register: Register) -> None:
    """Register the shipped recipes."""
    _register_rows(register, _RECIPES)


@hookimpl
def forge_register_commands(register: CommandRegister) -> None:
    """Register ``forge sample``."""
    from forge.diffusion.sampling.command import sample_command

    register(sample_command)
