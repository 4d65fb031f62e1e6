"""Config classes of forge-diffusion's models (no torch import).

A registered diffusion model is a *training wrapper* (:class:`~forge.diffusion.models.DiffusionModel`)
around a denoiser: its config nests the denoiser's (``unet`` or ``mlp``) and the diffusion process's
(``diffusion``: noise schedule, prediction type, condition dropout). ``num_classes`` sits at the top
level so that a recipe fills it from the dataset.
"""

from __future__ import annotations

import attrs

from forge.core.config import field
from forge.diffusion.samplers.configs import PREDICTION_TYPES, PredictionType
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


@attrs.frozen
class DiffusionConfig:
    """The diffusion process a denoiser is trained for."""

    schedule: NoiseScheduleConfig = field(factory=NoiseScheduleConfig, help="The noise schedule.")
    prediction_type: PredictionType = field(
        "epsilon",
        help="What the denoiser predicts: 'epsilon' (noise), 'sample' (x0) or 'v_prediction'.",
        one_of=PREDICTION_TYPES,
    )
    cond_drop_prob: float = field(
        0.0,
        help="Probability of replacing a sample's condition by the null condition in training "
        "(classifier-free guidance needs > 0, typically 0.1).",
        ge=0,
        lt=1,
    )
    clip_sample: bool = field(
        True,
        help="Sampling clamps predicted clean samples to [-clip_sample_range, clip_sample_range]: right for data "
        "scaled to [-1, 1] (images), wrong for unbounded data (set false). Never applied to latents.",
    )
    clip_sample_range: float = field(1.0, help="Bound of that clamp.", gt=0)
    eval_seed: int = field(
        0, help="Seed of the timesteps and noise drawn in eval mode, so validation losses are comparable.", ge=0
    )


@attrs.frozen
class UNetConfig:
    """A DDPM/ADM-style UNet: residual blocks with GroupNorm and SiLU, attention at chosen resolutions."""

    in_channels: int = field(3, help="Image channels.", ge=1)
    out_channels: int | None = field(None, help="Output channels (None: in_channels).", ge=1)
    image_size: int = field(
        32, help="Height and width the model is built for (attention resolutions refer to it).", ge=1
    )
    base_channels: int = field(
        64, help="Channels of the first level; level i has base_channels * channel_mults[i].", ge=1
    )
    channel_mults: tuple[int, ...] = field(
        (1, 2, 2), help="Width multiplier of each resolution level.", ge=1, non_empty=True
    )
    num_res_blocks: int = field(2, help="Residual blocks per level (the decoder has one more).", ge=1)
    attention_resolutions: tuple[int, ...] = field(
        (16,), help="Feature-map sizes (height) at which self-attention follows the residual blocks.", ge=1
    )
    num_heads: int = field(4, help="Attention heads (channels must divide evenly).", ge=1)
    norm_groups: int = field(
        32,
        help="GroupNorm groups; a layer with fewer channels, or channels it does not divide, uses the largest "
        "divisor of its channels below this.",
        ge=1,
    )
    dropout: float = field(0.0, help="Dropout inside residual blocks.", ge=0, lt=1)
    cond_dim: int | None = field(
        None, help="Width of a conditioning vector added to the time embedding (None: none).", ge=1
    )

    def __attrs_post_init__(self) -> None:
        levels = len(self.channel_mults)
        if self.image_size % (2 ** (levels - 1)):
            raise ValueError(
                f"image_size, channel_mults: expected image_size divisible by 2**(levels - 1) = {2 ** (levels - 1)} "
                f"for {levels} channel_mults {list(self.channel_mults)!r}, got image_size {self.image_size}"
            )
        sizes = {self.image_size // 2**i for i in range(levels)}
        unknown = sorted(set(self.attention_resolutions) - sizes)
        if unknown:
            raise ValueError(
                f"attention_resolutions, image_size: attention_resolutions {unknown} are not feature-map sizes of "
                f"this UNet {sorted(sizes)} (image_size {self.image_size}, {levels} channel_mults)"
            )


@attrs.frozen
class MLPDenoiserConfig:
    """A residual MLP denoiser for low-dimensional data (points, features)."""

    data_dim: int = field(2, help="Dimension of the data vectors.", ge=1)
    hidden: int = field(128, help="Width of the hidden layers.", ge=1)
    num_blocks: int = field(3, help="Residual blocks.", ge=1)
    time_embed_dim: int = field(32, help="Width of the sinusoidal timestep embedding.", ge=1)
    cond_dim: int | None = field(None, help="Width of a conditioning vector (None: none).", ge=1)


@attrs.frozen
class DiffusionUNetConfig:
    """A UNet denoiser trained as a diffusion model on images."""

    unet: UNetConfig = field(factory=UNetConfig, help="The denoiser.")
    diffusion: DiffusionConfig = field(factory=DiffusionConfig, help="The diffusion process.")
    num_classes: int | None = field(
        None,
        help="Class-conditional on this many classes (a recipe fills it from the dataset); None: no classes.",
        ge=1,
    )


@attrs.frozen
class DiffusionMLPConfig:
    """An MLP denoiser trained as a diffusion model on vectors."""

    mlp: MLPDenoiserConfig = field(factory=MLPDenoiserConfig, help="The denoiser.")
    diffusion: DiffusionConfig = field(factory=DiffusionConfig, help="The diffusion process.")
    num_classes: int | None = field(None, help="Class-conditional on this many classes; None: no classes.", ge=1)


@attrs.frozen
class VAEConfig:
    """A small convolutional KL-regularized autoencoder (the first stage of latent diffusion)."""

    in_channels: int = field(3, help="Image channels.", ge=1)
    base_channels: int = field(32, help="Channels of the first level.", ge=1)
    channel_mults: tuple[int, ...] = field(
        (1, 2),
        help="Width multiplier per level; each level after the first halves the resolution.",
        ge=1,
        non_empty=True,
    )
    latent_channels: int = field(4, help="Channels of the latent.", ge=1)
    norm_groups: int = field(32, help="GroupNorm groups (fewer when channels are small).", ge=1)


@attrs.frozen
class LatentDiffusionConfig:
    """A UNet denoiser trained in the latent space of a frozen KL autoencoder."""

    vae: VAEConfig = field(factory=VAEConfig, help="The autoencoder's architecture.")
    vae_weights: str | None = field(
        None,
        help="A .safetensors file or a diffusion.vae run directory whose weights the autoencoder loads "
        "(None: leave it as initialized, e.g. for tests).",
        non_empty=True,
    )
    unet: UNetConfig = field(
        factory=lambda: UNetConfig(in_channels=4, image_size=8, channel_mults=(1, 2), attention_resolutions=(4,)),
        help="The latent denoiser (in_channels must equal vae.latent_channels).",
    )
    diffusion: DiffusionConfig = field(factory=DiffusionConfig, help="The diffusion process.")
    latent_scale: float = field(
        1.0, help="Latents are multiplied by this before diffusion (unit variance helps); samples divided by it.", gt=0
    )
    num_classes: int | None = field(None, help="Class-conditional on this many classes; None: no classes.", ge=1)

    def __attrs_post_init__(self) -> None:
        if self.unet.in_channels != self.vae.latent_channels:
            raise ValueError(
                f"unet.in_channels, vae.latent_channels: expected them equal, got unet.in_channels "
                f"{self.unet.in_channels} and vae.latent_channels {self.vae.latent_channels}"
            )
