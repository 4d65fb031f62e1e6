"""The image denoiser: a UNet over timesteps and an optional class or vector condition."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forge.core.errors import DataError
from forge.diffusion.models.configs import UNetConfig
from forge.diffusion.models.layers import AttentionBlock, Downsample, ResBlock, Upsample, group_norm, timestep_embedding

__all__ = ["UNet"]


class UNet(nn.Module):
    """A DDPM/ADM-style UNet denoiser ``unet(x_t, t, cond) -> prediction`` shaped like ``x_t``.

    The timestep's sinusoidal embedding goes through a two-layer MLP; a class label (an embedding
    row, with one extra *null* row for classifier-free guidance) or a conditioning vector (a linear
    map) is added to it, and the sum conditions every residual block.

    Args:
        config: Architecture.
        num_classes: Number of classes for class conditioning (None: none). Label ``num_classes``
            is the null class.

    Example:
        >>> unet = UNet(UNetConfig(in_channels=1, image_size=8, base_channels=32, channel_mults=(1, 2),
        ...                        attention_resolutions=(4,)), num_classes=10)
        >>> unet(torch.randn(2, 1, 8, 8), torch.tensor([10, 500]), torch.tensor([3, 10])).shape
        torch.Size([2, 1, 8, 8])
    """

    def __init__(self, config: UNetConfig, num_classes: int | None = None) -> None:
        super().__init__()
        self.config = config
        self.num_classes = num_classes
        c = config
        base = c.base_channels
        emb_dim = 4 * base
        g = c.norm_groups
        self.time_mlp = nn.Sequential(nn.Linear(base, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        self.cond_proj = nn.Linear(c.cond_dim, emb_dim) if c.cond_dim else None
        self.conv_in = nn.Conv2d(c.in_channels, base, 3, padding=1)

        self.down = nn.ModuleList()
        skips = [base]
        ch, size = base, c.image_size
        for level, mult in enumerate(c.channel_mults):
            for _ in range(c.num_res_blocks):
                blocks: list[nn.Module] = [ResBlock(ch, base * mult, emb_dim, g, c.dropout)]
                ch = base * mult
                if size in c.attention_resolutions:
                    blocks.append(AttentionBlock(ch, c.num_heads, g))
                self.down.append(nn.ModuleList(blocks))
                skips.append(ch)
            if level < len(c.channel_mults) - 1:
                self.down.append(nn.ModuleList([Downsample(ch)]))
                skips.append(ch)
                size //= 2
        self.mid = nn.ModuleList(
            [
                ResBlock(ch, ch, emb_dim, g, c.dropout),
                AttentionBlock(ch, c.num_heads, g),
                ResBlock(ch, ch, emb_dim, g, c.dropout),
            ]
        )
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(c.channel_mults))):
            for i in range(c.num_res_blocks + 1):
                blocks = [ResBlock(ch + skips.pop(), base * mult, emb_dim, g, c.dropout)]
                ch = base * mult
                if size in c.attention_resolutions:
                    blocks.append(AttentionBlock(ch, c.num_heads, g))
                if level > 0 and i == c.num_res_blocks:
                    blocks.append(Upsample(ch))
                    size *= 2
                self.up.append(nn.ModuleList(blocks))
        self.norm_out = group_norm(ch, g)
        self.conv_out = nn.Conv2d(ch, c.out_channels or c.in_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        if self.conv_out.bias is not None:
            nn.init.zeros_(self.conv_out.bias)

    def embed(self, t: Tensor, cond: Tensor | None) -> Tensor:
        """The time-and-condition embedding ``(B, 4 * base_channels)``.

        Raises:
            DataError: the condition does not fit the model (a label out of range, a vector of the
                wrong width, or a condition given to an unconditional model).
        """
        emb: Tensor = self.time_mlp(timestep_embedding(t, self.config.base_channels))
        out: Tensor
        if cond is None:
            return emb
        if self.class_emb is not None and not cond.is_floating_point():
            n = self.class_emb.num_embeddings
            if cond.shape != t.shape or (cond.numel() and (int(cond.min()) < 0 or int(cond.max()) >= n)):
                raise DataError(
                    f"UNet: class labels must be {tuple(t.shape)} integers in 0..{n - 1} "
                    f"({n - 1} is the null class), got shape {tuple(cond.shape)}"
                )
            out = emb + self.class_emb(cond)
            return out
        if self.cond_proj is not None and cond.is_floating_point():
            if cond.dim() != 2 or cond.shape[1] != self.cond_proj.in_features:
                raise DataError(
                    f"UNet: conditioning vectors must be (B, {self.cond_proj.in_features}), got {tuple(cond.shape)}"
                )
            out = emb + self.cond_proj(cond)
            return out
        raise DataError(
            f"UNet: got a {'float' if cond.is_floating_point() else 'integer'} condition but the model was built "
            f"with num_classes={self.num_classes} and cond_dim={self.config.cond_dim}"
        )

    def forward(self, x: Tensor, t: Tensor, cond: Tensor | None = None) -> Tensor:
        """Predict from ``x`` ``(B, C, H, W)`` at timesteps ``t`` ``(B,)`` under ``cond`` (labels or vectors).

        Raises:
            DataError: ``x`` does not have the configured channels and size, or ``cond`` is invalid.
        """
        c = self.config
        if x.dim() != 4 or x.shape[1] != c.in_channels or x.shape[-1] % 2 ** (len(c.channel_mults) - 1):
            raise DataError(
                f"UNet: expected images (B, {c.in_channels}, H, W) with H, W divisible by "
                f"{2 ** (len(c.channel_mults) - 1)}, got {tuple(x.shape)}"
            )
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        emb = self.embed(t, cond)
        h = self.conv_in(x)
        hs = [h]
        for blocks in self.down:
            for block in blocks:  # type: ignore[attr-defined]  # each entry is an nn.ModuleList
                h = block(h, emb) if isinstance(block, ResBlock) else block(h)
            hs.append(h)
        for block in self.mid:
            h = block(h, emb) if isinstance(block, ResBlock) else block(h)
        for blocks in self.up:
            h = torch.cat([h, hs.pop()], dim=1)
            for block in blocks:  # type: ignore[attr-defined]  # each entry is an nn.ModuleList
                h = block(h, emb) if isinstance(block, ResBlock) else block(h)
        out: Tensor = self.conv_out(F.silu(self.norm_out(h)))
        return out
