"""The denoising loss and the autoencoder loss, fed by the models' ``(prediction, target)`` outputs."""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from forge.core.errors import DataError
from forge.diffusion.losses.configs import DenoisingLossConfig, VAELossConfig
from forge.diffusion.models.vae import kl_divergence

__all__ = ["DenoisingLoss", "VAELoss", "build_denoising_loss", "build_vae_loss"]


class DenoisingLoss(nn.Module):
    """``mean((prediction - target)^2)`` of a :class:`~forge.diffusion.models.DiffusionModel`'s output.

    The dataset's target (second argument) is ignored: the model draws its own.
    """

    def forward(self, output: Any, target: Any = None) -> Tensor:
        """The loss of ``output = (prediction, target)``.

        Raises:
            DataError: ``output`` is not a pair of equally shaped tensors.
        """
        if not isinstance(output, (tuple, list)) or len(output) != 2 or output[0].shape != output[1].shape:
            raise DataError(
                "diffusion.denoising_mse: expected the model output (prediction, target) of equal shapes, got "
                + (
                    f"{type(output).__name__}"
                    if not isinstance(output, (tuple, list))
                    else str([tuple(o.shape) for o in output])
                )
            )
        return F.mse_loss(output[0].float(), output[1].float())


class VAELoss(nn.Module):
    """``mse(reconstruction, input) + kl_weight * mean KL`` of a KL autoencoder's output."""

    def __init__(self, kl_weight: float = 1e-4) -> None:
        super().__init__()
        self.kl_weight = kl_weight

    def forward(self, output: Any, target: Any = None) -> Tensor:
        """The loss of ``output = (reconstruction, input, mean, logvar)``.

        Raises:
            DataError: ``output`` is not a KL autoencoder's output.
        """
        if not isinstance(output, (tuple, list)) or len(output) != 4:
            raise DataError(
                "diffusion.vae_loss: expected the output (reconstruction, input, mean, logvar) of "
                f"diffusion.vae, got {type(output).__name__}"
            )
        recon, x, mean, logvar = output
        return (
            F.mse_loss(recon.float(), x.float()) + self.kl_weight * kl_divergence(mean.float(), logvar.float()).mean()
        )


def build_denoising_loss(config: DenoisingLossConfig) -> DenoisingLoss:
    """Builder of ``diffusion.denoising_mse``."""
    return DenoisingLoss()


def build_vae_loss(config: VAELossConfig) -> VAELoss:
    """Builder of ``diffusion.vae_loss``."""
    return VAELoss(config.kl_weight)
