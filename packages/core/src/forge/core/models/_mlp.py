"""core.mlp: a small multi-layer perceptron, the model core's own recipe trains."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from forge.core.models._configs import MLPConfig

__all__ = ["MLP", "build_mlp", "example_input"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}


class MLP(nn.Module):
    """Linear layers with activations (optionally LayerNorm and dropout) and a linear head.

    Args:
        config: Widths, activation, dropout and normalization.
    """

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        blocks: list[nn.Module] = []
        width = config.in_features
        for hidden in config.hidden:
            layers: list[nn.Module] = [nn.Linear(width, hidden)]
            if config.norm:
                layers.append(nn.LayerNorm(hidden))
            layers.append(_ACTIVATIONS[config.activation]())
            if config.dropout:
                layers.append(nn.Dropout(config.dropout))
            blocks.append(nn.Sequential(*layers))
            width = hidden
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(width, config.num_classes)
        self.gradient_checkpointing = False

    def enable_gradient_checkpointing(self, enabled: bool = True) -> None:
        """Recompute each hidden block's activations in backward instead of storing them."""
        self.gradient_checkpointing = enabled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(batch, *features)`` inputs to ``(batch, num_classes)`` outputs."""
        x = x.flatten(1)
        for block in self.blocks:
            if self.gradient_checkpointing and self.training:
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        out: torch.Tensor = self.head(x)
        return out


def build_mlp(config: MLPConfig) -> MLP:
    """Build :class:`MLP` from its config (registered as ``core.mlp``)."""
    return MLP(config)


def example_input(config: MLPConfig) -> torch.Tensor:
    """A batch of two random inputs for the conformance kit."""
    return torch.randn(2, config.in_features)
