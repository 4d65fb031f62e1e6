"""A small convolutional KL-regularized autoencoder: the first stage of latent diffusion (Rombach et al. 2022)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forge.core.errors import DataError
from forge.diffusion.models.configs import VAEConfig
from forge.diffusion.models.layers import Downsample, ResBlock, Upsample, group_norm

__all__ = ["KLAutoencoder", "build_vae", "kl_divergence", "reconstruction_error", "vae_example"]


class KLAutoencoder(nn.Module):
    """Encoder to a diagonal Gaussian over latents, decoder back to images.

    ``forward`` (training) returns ``(reconstruction, input, mean, logvar)``, which
    :class:`~forge.diffusion.losses.VAELoss` turns into reconstruction error plus a weighted KL
    divergence to ``N(0, I)``. The input may be images or an ``(images, condition)`` pair (the
    condition is ignored), so the same datasets feed the autoencoder and the latent denoiser.

    Args:
        config: Architecture.

    Example:
        >>> vae = KLAutoencoder(VAEConfig(in_channels=1, base_channels=16, latent_channels=2))
        >>> vae.encode(torch.rand(3, 1, 8, 8))[0].shape
        torch.Size([3, 2, 4, 4])
    """

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        g = c.norm_groups
        chans = [c.base_channels * m for m in c.channel_mults]
        enc: list[nn.Module] = [nn.Conv2d(c.in_channels, chans[0], 3, padding=1)]
        ch = chans[0]
        for i, out_ch in enumerate(chans):
            enc.append(ResBlock(ch, out_ch, 0, g))
            ch = out_ch
            if i < len(chans) - 1:
                enc.append(Downsample(ch))
        self.encoder = nn.ModuleList(enc)
        self.enc_out = nn.Sequential(group_norm(ch, g), nn.SiLU(), nn.Conv2d(ch, 2 * c.latent_channels, 3, padding=1))
        dec: list[nn.Module] = [nn.Conv2d(c.latent_channels, ch, 3, padding=1)]
        for i, out_ch in reversed(list(enumerate(chans))):
            dec.append(ResBlock(ch, out_ch, 0, g))
            ch = out_ch
            if i > 0:
                dec.append(Upsample(ch))
        self.decoder = nn.ModuleList(dec)
        self.dec_out = nn.Sequential(group_norm(ch, g), nn.SiLU(), nn.Conv2d(ch, c.in_channels, 3, padding=1))

    @property
    def downsampling(self) -> int:
        """How much smaller the latent is than the image, per side."""
        return int(2 ** (len(self.config.channel_mults) - 1))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The latent Gaussian's ``(mean, logvar)`` for images ``x`` ``(B, C, H, W)``.

        Raises:
            DataError: ``x`` has the wrong channels or a size the levels cannot halve.
        """
        c = self.config
        if x.dim() != 4 or x.shape[1] != c.in_channels or x.shape[-1] % self.downsampling:
            raise DataError(
                f"KLAutoencoder: expected images (B, {c.in_channels}, H, W) with H, W divisible by "
                f"{self.downsampling}, got {tuple(x.shape)}"
            )
        h = x
        for layer in self.encoder:
            h = layer(h)
        mean, logvar = self.enc_out(h).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z: Tensor) -> Tensor:
        """Images from latents ``z`` ``(B, latent_channels, h, w)``."""
        h = z
        for layer in self.decoder:
            h = layer(h)
        out: Tensor = self.dec_out(h)
        return out

    def forward(self, inputs: Tensor | tuple[Tensor, ...] | list[Tensor]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Encode, draw a latent (the mean in eval mode), decode.

        Returns:
            ``(reconstruction, input images, mean, logvar)``.
        """
        x = inputs[0] if isinstance(inputs, (tuple, list)) else inputs
        mean, logvar = self.encode(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean) if self.training else mean
        return self.decode(z), x, mean, logvar


def build_vae(config: VAEConfig) -> KLAutoencoder:
    """Builder of ``diffusion.vae``."""
    return KLAutoencoder(config)


def vae_example(config: VAEConfig) -> Tensor:
    """A small batch of images in [-1, 1] for the conformance kit."""
    side = 2 * 2 ** (len(config.channel_mults) - 1) * 2
    return torch.rand(2, config.in_channels, side, side) * 2 - 1


def kl_divergence(mean: Tensor, logvar: Tensor) -> Tensor:
    """``KL(N(mean, exp(logvar)) || N(0, I))`` per sample, summed over the latent's elements."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(1)


def reconstruction_error(recon: Tensor, x: Tensor) -> Tensor:
    """Mean squared reconstruction error."""
    return F.mse_loss(recon, x)
