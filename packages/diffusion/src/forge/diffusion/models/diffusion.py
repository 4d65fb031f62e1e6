"""The diffusion training wrapper: a denoiser plus the forward process, trained by the standard Trainer.

A :class:`DiffusionModel` takes a batch's input (clean data, or ``(clean data, condition)``),
draws timesteps and noise itself, and returns ``(prediction, target)``; the
:class:`~forge.diffusion.losses.DenoisingLoss` is their mean squared error. So a diffusion model
trains through forge's ordinary ``(input, target)`` loop, recipes, EMA, checkpoints and run
directories, and the dataset's target is not used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from forge.core.errors import CheckpointError, ConfigError, DataError
from forge.diffusion.models.configs import (
    DiffusionConfig,
    DiffusionMLPConfig,
    DiffusionUNetConfig,
    LatentDiffusionConfig,
)
from forge.diffusion.models.mlp import MLPDenoiser
from forge.diffusion.models.unet import UNet
from forge.diffusion.models.vae import KLAutoencoder
from forge.diffusion.schedules.noise import NoiseSchedule

__all__ = [
    "DiffusionModel",
    "LatentDiffusionModel",
    "build_latent_diffusion",
    "build_mlp_diffusion",
    "build_unet_diffusion",
    "latent_example",
    "mlp_example",
    "unet_example",
]


class DiffusionModel(nn.Module):
    """A denoiser ``denoiser(x_t, t, cond)`` and the diffusion process it is trained for.

    In training mode ``forward`` draws ``t`` uniformly and ``eps ~ N(0, I)`` from the global RNG,
    noises the data to ``x_t``, drops the condition with probability ``cond_drop_prob`` (labels
    become the null class ``num_classes``, vectors become zeros), and returns the denoiser's
    prediction with its target (``eps``, ``x0`` or ``v`` by ``prediction_type``). In eval mode the
    draws come from a generator seeded with ``eval_seed`` so validation losses are comparable.

    Args:
        denoiser: The network.
        diffusion: Schedule, prediction type, condition dropout.
        sample_shape: Shape of one sample (``(C, H, W)`` or ``(D,)``), for sampling.
        num_classes: Classes of the class condition (None: none).
        cond_dim: Width of a vector condition (None: none).
    """

    def __init__(
        self,
        denoiser: nn.Module,
        diffusion: DiffusionConfig,
        sample_shape: tuple[int, ...],
        *,
        num_classes: int | None = None,
        cond_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.denoiser = denoiser
        self.diffusion = diffusion
        self.schedule = NoiseSchedule(diffusion.schedule)
        self.sample_shape = tuple(sample_shape)
        self.num_classes = num_classes
        self.cond_dim = cond_dim
        # Plain float32 CPU tables, not buffers: the EMA keeps every buffer of a model, and forge's
        # run loader would then meet them as unexpected state-dict keys. Timesteps are drawn on the
        # CPU, so indexing needs no device read; the picked values are copied to the data's device.
        self._sqrt_ab = self.schedule.sqrt_alphas_cumprod.float()
        self._sqrt_1m_ab = self.schedule.sqrt_one_minus_alphas_cumprod.float()

    @property
    def prediction_type(self) -> str:
        """What the denoiser predicts."""
        return self.diffusion.prediction_type

    @property
    def null_condition_label(self) -> int | None:
        """The null class label of classifier-free guidance (None without classes)."""
        return self.num_classes

    def null_condition(self, cond: Tensor) -> Tensor:
        """The null condition shaped like ``cond``: the null class for labels, zeros for vectors."""
        if cond.is_floating_point():
            return torch.zeros_like(cond)
        if self.num_classes is None:
            raise DataError("DiffusionModel: integer condition given to a model without classes")
        return torch.full_like(cond, self.num_classes)

    def encode(self, x0: Tensor) -> Tensor:
        """Map data to the space diffusion runs in (the identity here; latents for latent diffusion)."""
        return x0

    def decode(self, z: Tensor) -> Tensor:
        """Map diffusion-space samples back to data (the identity here)."""
        return z

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one sample in the space diffusion runs in."""
        return self.sample_shape

    def denoise(self, x_t: Tensor, t: Tensor, cond: Tensor | None = None) -> Tensor:
        """The denoiser's prediction at ``(x_t, t)`` under ``cond``."""
        out: Tensor = self.denoiser(x_t, t, cond)
        return out

    def _split(self, inputs: Any) -> tuple[Tensor, Tensor | None]:
        if isinstance(inputs, (tuple, list)):
            if len(inputs) != 2:
                raise DataError(f"DiffusionModel: expected x0 or (x0, condition), got a sequence of {len(inputs)}")
            x0, cond = inputs
        else:
            x0, cond = inputs, None
        if not isinstance(x0, Tensor) or not x0.is_floating_point():
            raise DataError(f"DiffusionModel: x0 must be a float tensor, got {type(x0).__name__}")
        if tuple(x0.shape[1:]) != self.sample_shape:
            raise DataError(
                f"DiffusionModel: samples of shape {tuple(x0.shape[1:])}, the model was built for {self.sample_shape}"
            )
        if cond is not None and not isinstance(cond, Tensor):
            raise DataError(f"DiffusionModel: the condition must be a tensor, got {type(cond).__name__}")
        if cond is not None and self.num_classes is None and self.cond_dim is None:
            cond = None  # an unconditional model ignores labels the dataset carries
        return x0, cond

    def forward(self, inputs: Any) -> tuple[Tensor, Tensor]:
        """Noise a batch and predict: returns ``(prediction, target)`` for the denoising loss.

        Args:
            inputs: Clean data ``x0`` (shape ``(B, *sample_shape)``), or ``(x0, condition)``.

        Raises:
            DataError: the input does not fit the model.
        """
        x0, cond = self._split(inputs)
        x0 = self.encode(x0)
        b, device = x0.shape[0], x0.device
        total = self.schedule.num_timesteps
        gen = None if self.training else torch.Generator().manual_seed(self.diffusion.eval_seed)
        t_cpu = torch.randint(0, total, (b,), generator=gen)
        noise = torch.randn_like(x0) if gen is None else torch.randn(x0.shape, generator=gen, dtype=x0.dtype).to(device)
        shape = (b,) + (1,) * (x0.dim() - 1)
        a = self._sqrt_ab[t_cpu].view(shape).to(device=device, dtype=x0.dtype, non_blocking=True)
        s = self._sqrt_1m_ab[t_cpu].view(shape).to(device=device, dtype=x0.dtype, non_blocking=True)
        t = t_cpu.to(device, non_blocking=True)
        x_t = a * x0 + s * noise
        if cond is not None and self.training and self.diffusion.cond_drop_prob > 0:
            drop = torch.rand(b, device=device) < self.diffusion.cond_drop_prob
            null = self.null_condition(cond)
            cond = torch.where(drop.view((b,) + (1,) * (cond.dim() - 1)), null, cond)
        pred = self.denoise(x_t, t, cond)
        if self.prediction_type == "epsilon":
            target = noise
        elif self.prediction_type == "sample":
            target = x0
        else:
            target = a * noise - s * x0
        return pred, target


class LatentDiffusionModel(DiffusionModel):
    """Diffusion in the latent space of a frozen :class:`~forge.diffusion.models.vae.KLAutoencoder`.

    The autoencoder stays in eval mode with gradients off; data is encoded to the latent mean
    times ``latent_scale``, and samples are decoded after dividing by it.
    """

    def __init__(
        self,
        vae: KLAutoencoder,
        denoiser: nn.Module,
        diffusion: DiffusionConfig,
        image_shape: tuple[int, ...],
        latent_scale: float,
        *,
        num_classes: int | None = None,
        cond_dim: int | None = None,
    ) -> None:
        super().__init__(denoiser, diffusion, image_shape, num_classes=num_classes, cond_dim=cond_dim)
        self.vae = vae.requires_grad_(False).eval()
        self.latent_scale = latent_scale
        c, h, w = image_shape
        d = vae.downsampling
        self._latent_shape = (vae.config.latent_channels, h // d, w // d)

    def train(self, mode: bool = True) -> LatentDiffusionModel:
        """Set the denoiser's mode; the autoencoder stays in eval mode."""
        super().train(mode)
        self.vae.eval()
        return self

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one latent."""
        return self._latent_shape

    def encode(self, x0: Tensor) -> Tensor:
        """The scaled latent mean of images ``x0``."""
        with torch.no_grad():
            mean, _ = self.vae.encode(x0)
        return mean * self.latent_scale

    def decode(self, z: Tensor) -> Tensor:
        """Images from scaled latents."""
        return self.vae.decode(z / self.latent_scale)


def build_unet_diffusion(config: DiffusionUNetConfig) -> DiffusionModel:
    """Builder of ``diffusion.unet``."""
    u = config.unet
    return DiffusionModel(
        UNet(u, config.num_classes),
        config.diffusion,
        (u.in_channels, u.image_size, u.image_size),
        num_classes=config.num_classes,
        cond_dim=u.cond_dim,
    )


def build_mlp_diffusion(config: DiffusionMLPConfig) -> DiffusionModel:
    """Builder of ``diffusion.mlp``."""
    m = config.mlp
    return DiffusionModel(
        MLPDenoiser(m, config.num_classes),
        config.diffusion,
        (m.data_dim,),
        num_classes=config.num_classes,
        cond_dim=m.cond_dim,
    )


def _vae_state(source: str) -> dict[str, Tensor]:
    path = Path(os.path.expanduser(source))
    if path.is_dir():
        from forge.core import load_model

        model = load_model(path, "last")
        if not isinstance(model, KLAutoencoder):
            raise ConfigError(f"vae_weights {source}: the run's model is a {type(model).__name__}, not diffusion.vae")
        return model.state_dict()
    if path.suffix == ".safetensors" and path.is_file():
        from safetensors.torch import load_file

        return load_file(str(path))
    raise ConfigError(f"vae_weights {source}: not a diffusion.vae run directory nor a .safetensors file")


def build_latent_diffusion(config: LatentDiffusionConfig) -> LatentDiffusionModel:
    """Builder of ``diffusion.latent_unet``.

    Raises:
        ConfigError: ``vae_weights`` names nothing loadable, or weights that do not fit ``vae``.
    """
    vae = KLAutoencoder(config.vae)
    if config.vae_weights is not None:
        try:
            vae.load_state_dict(_vae_state(config.vae_weights))
        except RuntimeError as exc:
            raise ConfigError(f"vae_weights {config.vae_weights}: do not fit model.vae: {exc}") from None
        except OSError as exc:
            raise CheckpointError(f"vae_weights {config.vae_weights}: {exc}") from None
    d = vae.downsampling
    u = config.unet
    side = u.image_size * d
    return LatentDiffusionModel(
        vae,
        UNet(u, config.num_classes),
        config.diffusion,
        (config.vae.in_channels, side, side),
        config.latent_scale,
        num_classes=config.num_classes,
        cond_dim=u.cond_dim,
    )


def _example_cond(num_classes: int | None, cond_dim: int | None, b: int) -> Tensor | None:
    if num_classes:
        return torch.arange(b) % num_classes
    if cond_dim:
        return torch.randn(b, cond_dim)
    return None


def unet_example(config: DiffusionUNetConfig) -> tuple[Any, ...]:
    """Example input of ``diffusion.unet``: ``((x0, condition),)`` or ``(x0,)``."""
    u = config.unet
    x0 = torch.rand(2, u.in_channels, u.image_size, u.image_size) * 2 - 1
    cond = _example_cond(config.num_classes, u.cond_dim, 2)
    return ((x0, cond),) if cond is not None else (x0,)


def mlp_example(config: DiffusionMLPConfig) -> tuple[Any, ...]:
    """Example input of ``diffusion.mlp``."""
    x0 = torch.randn(4, config.mlp.data_dim)
    cond = _example_cond(config.num_classes, config.mlp.cond_dim, 4)
    return ((x0, cond),) if cond is not None else (x0,)


def latent_example(config: LatentDiffusionConfig) -> tuple[Any, ...]:
    """Example input of ``diffusion.latent_unet``: images at the autoencoder's resolution."""
    side = config.unet.image_size * 2 ** (len(config.vae.channel_mults) - 1)
    x0 = torch.rand(2, config.vae.in_channels, side, side) * 2 - 1
    cond = _example_cond(config.num_classes, config.unet.cond_dim, 2)
    return ((x0, cond),) if cond is not None else (x0,)
