"""LR finder and batch-size finder sanity."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from forge.core.errors import ConfigError
from forge.core.trainer._finders import find_batch_size, find_lr

from .conftest import make_batches, make_model


def test_lr_finder_suggests_a_rate_inside_the_range_and_restores_state() -> None:
    torch.manual_seed(0)
    model = make_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.123, momentum=0.9)
    result = find_lr(model, make_batches(10), nn.CrossEntropyLoss(), opt, min_lr=1e-4, max_lr=100.0, num_steps=60)
    assert 1e-4 <= result.suggestion <= 100.0
    assert result.diverged_at is not None  # lr=100 with momentum blows a tiny MLP up
    assert result.lrs == sorted(result.lrs)
    assert min(result.losses) < result.losses[0]  # the loss went down somewhere before diverging
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert opt.param_groups[0]["lr"] == 0.123
    assert not opt.state  # momentum buffers from the test are gone


def test_lr_finder_rejects_bad_bounds() -> None:
    model = make_model()
    with pytest.raises(ConfigError):
        find_lr(
            model,
            make_batches(2),
            nn.CrossEntropyLoss(),
            torch.optim.SGD(model.parameters(), lr=0.1),
            min_lr=1.0,
            max_lr=0.1,
        )


class Limited(nn.Module):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.net = make_model()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory")
        out: torch.Tensor = self.net(x)
        return out


def _batch(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(n, 6), torch.randint(0, 3, (n,))


@pytest.mark.parametrize("limit", [1, 37, 64, 1000])
def test_batch_size_finder_finds_the_largest_fitting_size(limit: int) -> None:
    assert find_batch_size(Limited(limit), _batch, nn.CrossEntropyLoss(), max_batch_size=512) == min(limit, 512)


def test_batch_size_finder_raises_when_nothing_fits_and_passes_other_errors() -> None:
    with pytest.raises(ConfigError, match="even batch size 1"):
        find_batch_size(Limited(0), _batch, nn.CrossEntropyLoss())
    with pytest.raises(RuntimeError, match="shape"):
        find_batch_size(make_model(features=7), _batch, nn.CrossEntropyLoss())
