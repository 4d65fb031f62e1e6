"""Small shared pieces of the trainer tests: tiny data and models that train in milliseconds."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn


def make_batches(
    n_batches: int = 6, batch: int = 8, features: int = 6, classes: int = 3, seed: int = 0
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_batches):
        x = torch.randn(batch, features, generator=g)
        out.append((x, torch.randint(0, classes, (batch,), generator=g)))
    return out


def make_model(features: int = 6, classes: int = 3, dropout: float = 0.0, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Linear(features, 16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(16, classes))
    return nn.Sequential(*layers)


def sgd(lr: float = 0.1) -> Callable[[nn.Module], torch.optim.Optimizer]:
    return lambda m: torch.optim.SGD(m.parameters(), lr=lr)


@pytest.fixture(autouse=True)
def _restore_determinism() -> object:
    # Trainers switch torch's deterministic mode; keep tests independent of each other.
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)
