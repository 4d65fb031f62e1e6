"""Building blocks of the denoisers: timestep embeddings, GroupNorm, residual and attention blocks."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["AttentionBlock", "Downsample", "ResBlock", "Upsample", "group_norm", "timestep_embedding"]


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal embeddings of (possibly fractional) timesteps, as in "Attention is all you need".

    Args:
        t: Timesteps, shape ``(B,)``.
        dim: Embedding width; the first half are cosines, the second sines (a zero pads odd widths).
        max_period: The longest wavelength.

    Returns:
        ``(B, dim)`` float32 embeddings.
    """
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


def group_norm(channels: int, max_groups: int) -> nn.GroupNorm:
    """GroupNorm with the largest group count ``<= max_groups`` that divides ``channels``."""
    groups = max(g for g in range(1, min(max_groups, channels) + 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels, eps=1e-6)


class ResBlock(nn.Module):
    """``x + conv(dropout(silu(norm(conv(silu(norm(x))) + emb))))`` with a 1x1 skip when widths differ.

    Args:
        in_ch: Input channels.
        out_ch: Output channels.
        emb_dim: Width of the time(-and-condition) embedding added after the first conv; 0 for none.
        groups: The GroupNorm group limit.
        dropout: Dropout before the second conv.
    """

    def __init__(self, in_ch: int, out_ch: int, emb_dim: int, groups: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = group_norm(in_ch, groups)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.emb = nn.Linear(emb_dim, out_ch) if emb_dim > 0 else None
        self.norm2 = group_norm(out_ch, groups)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor | None = None) -> Tensor:
        """Apply the block; ``emb`` is ``(B, emb_dim)`` when the block was built with an embedding."""
        h = self.conv1(F.silu(self.norm1(x)))
        if self.emb is not None and emb is not None:
            h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        out: Tensor = self.skip(x) + h
        return out


class AttentionBlock(nn.Module):
    """Multi-head self-attention over the spatial positions, with a residual connection."""

    def __init__(self, channels: int, num_heads: int, groups: int) -> None:
        super().__init__()
        if channels % num_heads:
            raise ValueError(f"attention: {channels} channels do not split into {num_heads} heads")
        self.num_heads = num_heads
        self.norm = group_norm(channels, groups)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Attend over the ``H * W`` positions of ``x`` ``(B, C, H, W)``."""
        b, c, h, w = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, 3, self.num_heads, c // self.num_heads, h * w)
        q, k, v = (qkv[:, i].transpose(-1, -2) for i in range(3))  # (B, heads, HW, C/heads)
        out = F.scaled_dot_product_attention(q, k, v)
        out = out.transpose(-1, -2).reshape(b, c, h, w)
        result: Tensor = x + self.proj(out)
        return result


class Downsample(nn.Module):
    """Halve the resolution with a stride-2 3x3 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        """Downsample ``x``."""
        out: Tensor = self.conv(x)
        return out


class Upsample(nn.Module):
    """Double the resolution: nearest-neighbour upsampling, then a 3x3 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        """Upsample ``x``."""
        out: Tensor = self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return out
