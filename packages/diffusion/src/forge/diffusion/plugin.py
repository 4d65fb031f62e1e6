"""forge-diffusion's entry-point module (``forge.plugins``: ``diffusion = "forge.diffusion.plugin"``).

Light on purpose: it imports only core's registration API and names builders and config classes
as ``"module:attr"`` strings, so ``forge plugins`` and ``forge list`` never import torch.
"""

from __future__ import annotations

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

_M = "forge.diffusion.models"


@hookimpl
def forge_register_models(register: Register) -> None:
    """Register the diffusion models (denoiser + forward process) and the KL autoencoder."""
    register(
        "unet",
        builder=f"{_M}.diffusion:build_unet_diffusion",
        config=f"{_M}.configs:DiffusionUNetConfig",
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
        summary="Image diffusion model: UNet denoiser (GroupNorm, SiLU, attention), class/vector conditioning",
        tags=("diffusion", "generation", "image"),
        example=f"{_M}.diffusion:unet_example",
    )
    register(
        "mlp",
        builder=f"{_M}.diffusion:build_mlp_diffusion",
        config=f"{_M}.configs:DiffusionMLPConfig",
        summary="Diffusion model for low-dimensional vectors: residual MLP denoiser",
        tags=("diffusion", "generation", "tabular"),
        example=f"{_M}.diffusion:mlp_example",
    )
    register(
        "latent_unet",
        builder=f"{_M}.diffusion:build_latent_diffusion",
        config=f"{_M}.configs:LatentDiffusionConfig",
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
        summary="Latent diffusion: UNet denoiser in the latent space of a frozen KL autoencoder",
        tags=("diffusion", "generation", "image", "latent"),
        example=f"{_M}.diffusion:latent_example",
    )
    register(
        "vae",
        builder=f"{_M}.vae:build_vae",
        config=f"{_M}.configs:VAEConfig",
        defaults={"in_channels": 1, "base_channels": 16, "latent_channels": 2, "norm_groups": 8},
        summary="Small convolutional KL-regularized autoencoder (latent diffusion's first stage)",
        tags=("diffusion", "autoencoder", "image"),
        example=f"{_M}.vae:vae_example",
    )


@hookimpl
def forge_register_losses(register: Register) -> None:
    """Register the denoising MSE and the autoencoder loss."""
    register(
        "denoising_mse",
        builder="forge.diffusion.losses.denoising:build_denoising_loss",
        config="forge.diffusion.losses.configs:DenoisingLossConfig",
        summary="MSE between a diffusion model's prediction and its own target (eps, x0 or v)",
        tags=("diffusion",),
    )
    register(
        "vae_loss",
        builder="forge.diffusion.losses.denoising:build_vae_loss",
        config="forge.diffusion.losses.configs:VAELossConfig",
        summary="Reconstruction MSE plus weighted KL divergence of a KL autoencoder",
        tags=("diffusion", "autoencoder"),
    )


@hookimpl
def forge_register_datasets(register: Register) -> None:
    """Register the generated 2-D clouds and the digits for generation."""
    register(
        "toy2d",
        builder="forge.diffusion.datasets.toy2d:build_toy2d",
        config="forge.diffusion.datasets.configs:Toy2DConfig",
        summary="Generated 2-D point clouds: two moons or a Swiss roll (no files)",
        tags=("generation", "builtin-data", "synthetic"),
    )
    register(
        "digits",
        builder="forge.diffusion.datasets.digits:build_digits",
        config="forge.diffusion.datasets.configs:DigitsConfig",
        summary="scikit-learn's bundled 8x8 digits in [-1, 1] with their labels, for generation (no download)",
        tags=("generation", "builtin-data", "image"),
    )


@hookimpl
def forge_register_transforms(register: Register) -> None:
    """Register the noise schedule (a transform: clean sample in, noised training pair out)."""
    register(
        "noise_schedule",
        builder="forge.diffusion.schedules.noise:NoiseSchedule",
        config="forge.diffusion.schedules.configs:NoiseScheduleConfig",
        summary="DDPM noise schedule (linear, cosine, scaled-linear) with q(x_t | x_0) and its closed forms",
        tags=("diffusion", "noise-schedule"),
    )


@hookimpl
def forge_register_recipes(register: Register) -> None:
    """Register the shipped recipes."""
    register(
        "toy2d",
        builder="forge.diffusion.recipes:toy2d.toml",
        summary="MLP diffusion on two moons; energy distance to held-out points as the quality measure",
        tags=("diffusion", "generation", "quickstart"),
    )
    register(
        "digits",
        builder="forge.diffusion.recipes:digits.toml",
        summary="Class-conditional UNet diffusion on 8x8 digits with EMA and classifier-free guidance",
        tags=("diffusion", "generation", "image"),
    )


@hookimpl
def forge_register_commands(register: CommandRegister) -> None:
    """Register ``forge sample``."""
    from forge.diffusion.sampling.command import sample_command

    register(sample_command)
