"""Config classes of forge-diffusion's models (no torch import).

A registered diffusion model is a *training wrapper* (:class:`~forge.diffusion.models.DiffusionModel`)
around a denoiser: its config nests the denoiser's (``unet`` or ``mlp``) and the diffusion process's
(``diffusion``: noise schedule, prediction type, condition dropout). ``num_classes`` sits at the top
level so that a recipe fills it from the dataset.
"""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field
from forge.diffusion.samplers.configs import PredictionType
from forge.diffusion.schedules.configs import NoiseScheduleConfig

__all__ = [
    "DiffusionConfig",
    "DiffusionMLPConfig",
    "DiffusionUNetConfig",
    "LatentDiffusionConfig",
    "MLPDenoiserConfig",
    "UNetConfig",
    "VAEConfig",
]


def _positive(_: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value!r}")


def _positive_all(_: object, attribute: attrs.Attribute[Any], value: tuple[int, ...]) -> None:
    if not value or any(v < 1 for v in value):
        raise ValueError(f"{attribute.name} must be a non-empty list of integers >= 1, got {list(value)!r}")


def _positive_float(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _probability(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{attribute.name} must lie in [0, 1), got {value!r}")


@attrs.frozen
class DiffusionConfig:
    """The diffusion process a denoiser is trained for."""

    schedule: NoiseScheduleConfig = field(factory=NoiseScheduleConfig, help="The noise schedule.")
    prediction_type: PredictionType = field(
        "epsilon", help="What the denoiser predicts: 'epsilon' (noise), 'sample' (x0) or 'v_prediction'."
    )
    cond_drop_prob: float = field(
        0.0,
        help="Probability of replacing a sample's condition by the null condition in training "
        "(classifier-free guidance needs > 0, typically 0.1).",
        validator=_probability,
    )
    clip_sample: bool = field(
        True,
        help="Sampling clamps predicted clean samples to [-clip_sample_range, clip_sample_range]: right for data "
        "scaled to [-1, 1] (images), wrong for unbounded data (set false). Never applied to latents.",
    )
    clip_sample_range: float = field(1.0, help="Bound of that clamp.", validator=_positive_float)
    eval_seed: int = field(
        0, help="Seed of the timesteps and noise drawn in eval mode, so validation losses are comparable."
    )


@attrs.frozen
class UNetConfig:
    """A DDPM/ADM-style UNet: residual blocks with GroupNorm and SiLU, attention at chosen resolutions."""

    in_channels: int = field(3, help="Image channels.", validator=_positive)
    out_channels: int | None = field(None, help="Output channels (None: in_channels).", validator=_positive)
    image_size: int = field(
        32, help="Height and width the model is built for (attention resolutions refer to it).", validator=_positive
    )
    base_channels: int = field(
        64, help="Channels of the first level; level i has base_channels * channel_mults[i].", validator=_positive
    )
    channel_mults: tuple[int, ...] = field(
        (1, 2, 2), help="Width multiplier of each resolution level.", validator=_positive_all
    )
    num_res_blocks: int = field(2, help="Residual blocks per level (the decoder has one more).", validator=_positive)
    attention_resolutions: tuple[int, ...] = field(
        (16,), help="Feature-map sizes (height) at which self-attention follows the residual blocks."
    )
    num_heads: int = field(4, help="Attention heads (channels must divide evenly).", validator=_positive)
    norm_groups: int = field(
        32,
        help="GroupNorm groups; a layer with fewer channels, or channels it does not divide, uses the largest "
        "divisor of its channels below this.",
        validator=_positive,
    )
    dropout: float = field(0.0, help="Dropout inside residual blocks.", validator=_probability)
    cond_dim: int | None = field(
        None, help="Width of a conditioning vector added to the time embedding (None: none).", validator=_positive
    )

    def __attrs_post_init__(self) -> None:
        levels = len(self.channel_mults)
        if self.image_size % (2 ** (levels - 1)):
            raise ValueError(
                f"image_size {self.image_size} must be divisible by 2**(levels - 1) = {2 ** (levels - 1)} "
                f"for {levels} channel_mults"
            )
        sizes = {self.image_size // 2**i for i in range(levels)}
        unknown = sorted(set(self.attention_resolutions) - sizes)
        if unknown:
            raise ValueError(f"attention_resolutions {unknown} are not feature-map sizes of this UNet {sorted(sizes)}")


@attrs.frozen
class MLPDenoiserConfig:
    """A residual MLP denoiser for low-dimensional data (points, features)."""

    data_dim: int = field(2, help="Dimension of the data vectors.", validator=_positive)
    hidden: int = field(128, help="Width of the hidden layers.", validator=_positive)
    num_blocks: int = field(3, help="Residual blocks.", validator=_positive)
    time_embed_dim: int = field(32, help="Width of the sinusoidal timestep embedding.", validator=_positive)
    cond_dim: int | None = field(None, help="Width of a conditioning vector (None: none).", validator=_positive)


@attrs.frozen
class DiffusionUNetConfig:
    """A UNet denoiser trained as a diffusion model on images."""

    unet: UNetConfig = field(factory=UNetConfig, help="The denoiser.")
    diffusion: DiffusionConfig = field(factory=DiffusionConfig, help="The diffusion process.")
    num_classes: int | None = field(
        None,
        help="Class-conditional on this many classes (a recipe fills it from the dataset); None: no classes.",
        validator=_positive,
    )


@attrs.frozen
class DiffusionMLPConfig:
    """An MLP denoiser trained as a diffusion model on vectors."""

    mlp: MLPDenoiserConfig = field(factory=MLPDenoiserConfig, help="The denoiser.")
    diffusion: DiffusionConfig = field(factory=DiffusionConfig, help="The diffusion process.")
    num_classes: int | None = field(
        None, help="Class-conditional on this many classes; None: no classes.", validator=_positive
    )


@attrs.frozen
class VAEConfig:
    """A small convolutional KL-regularized autoencoder (the first stage of latent diffusion)."""

    in_channels: int = field(3, help="Image channels.", validator=_positive)
    base_channels: int = field(32, help="Channels of the first level.", validator=_positive)
    channel_mults: tuple[int, ...] = field(
        (1, 2),
        help="Width multiplier per level; each level after the first halves the resolution.",
        validator=_positive_all,
    )
    latent_channels: int = field(4, help="Channels of the latent.", validator=_positive)
    norm_groups: int = field(32, help="GroupNorm groups (fewer when channels are small).", validator=_positive)


@attrs.frozen
class LatentDiffusionConfig:
    """A UNet denoiser trained in the latent space of a frozen KL autoencoder."""

    vae: VAEConfig = field(factory=VAEConfig, help="The autoencoder's architecture.")
    vae_weights: str | None = field(
        None,
        help="A .safetensors file or a diffusion.vae run directory whose weights the autoencoder loads "
        "(None: leave it as initialized, e.g. for tests).",
    )
    unet: UNetConfig = field(
        factory=lambda: UNetConfig(in_channels=4, image_size=8, channel_mults=(1, 2), attention_resolutions=(4,)),
        help="The latent denoiser (in_channels must equal vae.latent_channels).",
    )
    diffusion: DiffusionConfig = field(factory=DiffusionConfig, help="The diffusion process.")
    latent_scale: float = field(1.0, help="Latents are multiplied by this before diffusion (unit variance helps).")
    num_classes: int | None = field(
        None, help="Class-conditional on this many classes; None: no classes.", validator=_positive
    )

    def __attrs_post_init__(self) -> None:
        if self.unet.in_channels != self.vae.latent_channels:
            raise ValueError(
                f"unet.in_channels {self.unet.in_channels} must equal vae.latent_channels {self.vae.latent_channels}"
            )
