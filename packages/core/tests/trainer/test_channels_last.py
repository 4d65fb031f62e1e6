"""trainer.channels_last keeps a CNN and its image batches in channels_last memory format."""

from __future__ import annotations

import torch
from torch import nn

from forge.core.trainer._config import TrainerConfig
from forge.core.trainer._trainer import Trainer


class _SeesLayout(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Linear(4, 2)
        self.layouts: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.layouts.append(x.is_contiguous(memory_format=torch.channels_last))
        return self.head(self.conv(x).mean((2, 3)))


def test_model_and_batches_are_channels_last() -> None:
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(4, 3, 8, 8, generator=g), torch.randint(0, 2, (4,), generator=g)) for _ in range(3)]
    model = _SeesLayout()
    cfg = TrainerConfig(max_epochs=1, channels_last=True, val_every_n_epochs=None)
    Trainer(cfg).fit(
        model, batches, loss_fn=nn.CrossEntropyLoss(), optimizer=lambda m: torch.optim.SGD(m.parameters(), 0.1)
    )
    assert model.layouts == [True, True, True]
    assert model.conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_off_by_default() -> None:
    batches = [(torch.randn(4, 3, 8, 8), torch.randint(0, 2, (4,)))]
    model = _SeesLayout()
    Trainer(TrainerConfig(max_epochs=1, val_every_n_epochs=None)).fit(
        model, batches, loss_fn=nn.CrossEntropyLoss(), optimizer=lambda m: torch.optim.SGD(m.parameters(), 0.1)
    )
    assert model.layouts == [False]
