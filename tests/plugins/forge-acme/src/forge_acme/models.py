"""ACME's model code, imported only when a model is built."""

from __future__ import annotations

import torch
from torch import nn

from forge_acme.configs import GatedMLPConfig


class GatedLayer(nn.Module):
    """``linear(x) * sigmoid(gate(x))``."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.gate = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.linear(x) * torch.sigmoid(self.gate(x))
        return out


def build_gated_mlp(config: GatedMLPConfig) -> nn.Sequential:
    """Build the gated MLP that ``config`` describes."""
    layers: list[nn.Module] = []
    width = config.in_features
    for hidden in config.hidden:
        layers += [GatedLayer(width, hidden), nn.Dropout(config.dropout)]
        width = hidden
    layers.append(nn.Linear(width, config.num_classes))
    return nn.Sequential(*layers)


def example_input(config: GatedMLPConfig) -> torch.Tensor:
    """A small batch for forge's conformance kit."""
    return torch.randn(4, config.in_features)
