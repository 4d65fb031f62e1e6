"""The vector denoiser: a residual MLP over timesteps and an optional class or vector condition."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from forge.core.errors import DataError
from forge.diffusion.models.configs import MLPDenoiserConfig
from forge.diffusion.models.layers import timestep_embedding

__all__ = ["MLPDenoiser"]


class _Block(nn.Module):
    def __init__(self, width: int, emb_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.emb = nn.Linear(emb_dim, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, h: Tensor, emb: Tensor) -> Tensor:
        out: Tensor = h + self.fc2(F.silu(self.fc1(self.norm(h)) + self.emb(emb)))
        return out


class MLPDenoiser(nn.Module):
    """``mlp(x_t, t, cond) -> prediction`` for data vectors ``(B, data_dim)``.

    Args:
        config: Architecture.
        num_classes: Number of classes for class conditioning (None: none); label ``num_classes``
            is the null class of classifier-free guidance.

    Example:
        >>> mlp = MLPDenoiser(MLPDenoiserConfig(data_dim=2))
        >>> mlp(torch.randn(5, 2), torch.arange(5)).shape
        torch.Size([5, 2])
    """

    def __init__(self, config: MLPDenoiserConfig, num_classes: int | None = None) -> None:
        super().__init__()
        self.config = config
        self.num_classes = num_classes
        c = config
        emb_dim = c.hidden
        self.time_mlp = nn.Sequential(nn.Linear(c.time_embed_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        self.cond_proj = nn.Linear(c.cond_dim, emb_dim) if c.cond_dim else None
        self.inp = nn.Linear(c.data_dim, c.hidden)
        self.blocks = nn.ModuleList(_Block(c.hidden, emb_dim) for _ in range(c.num_blocks))
        self.norm = nn.LayerNorm(c.hidden)
        self.out = nn.Linear(c.hidden, c.data_dim)

    def forward(self, x: Tensor, t: Tensor, cond: Tensor | None = None) -> Tensor:
        """Predict from ``x`` ``(B, data_dim)`` at timesteps ``t`` ``(B,)`` under ``cond``.

        Raises:
            DataError: ``x`` or ``cond`` does not fit the model.
        """
        c = self.config
        if x.dim() != 2 or x.shape[1] != c.data_dim:
            raise DataError(f"MLPDenoiser: expected vectors (B, {c.data_dim}), got {tuple(x.shape)}")
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        emb = self.time_mlp(timestep_embedding(t, c.time_embed_dim))
        if cond is not None:
            if self.class_emb is not None and not cond.is_floating_point():
                n = self.class_emb.num_embeddings
                if cond.shape != t.shape or (cond.numel() and (int(cond.min()) < 0 or int(cond.max()) >= n)):
                    raise DataError(f"MLPDenoiser: class labels must be {tuple(t.shape)} integers in 0..{n - 1}")
                emb = emb + self.class_emb(cond)
            elif self.cond_proj is not None and cond.is_floating_point() and cond.shape == (x.shape[0], c.cond_dim):
                emb = emb + self.cond_proj(cond)
            else:
                raise DataError(
                    f"MLPDenoiser: condition of shape {tuple(cond.shape)} and dtype {cond.dtype} does not fit a model "
                    f"built with num_classes={self.num_classes} and cond_dim={c.cond_dim}"
                )
        emb = F.silu(emb)
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, emb)
        out: Tensor = self.out(F.silu(self.norm(h)))
        return out
