"""ACME's losses, imported only when a loss is built."""

from __future__ import annotations

from torch import nn

from forge_acme.configs import HuberConfig


def build_huber(config: HuberConfig) -> nn.HuberLoss:
    """Build the Huber loss that ``config`` describes."""
    return nn.HuberLoss(reduction=config.reduction, delta=config.delta)
