"""BatchTransformLoader: batch-level augmentation whose draws survive a mid-epoch resume."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from forge.core.data._configs import LoaderConfig
from forge.core.data._loader import BatchTransformLoader, build_loader


def _noise(x: torch.Tensor, y: torch.Tensor, *, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return x + torch.randn(x.shape, generator=generator), y


def _loader(epoch: int = 0) -> BatchTransformLoader:
    data = TensorDataset(torch.arange(40, dtype=torch.float32).unsqueeze(1), torch.arange(40))
    loader = build_loader(data, LoaderConfig(batch_size=4, num_workers=0), seed=3)
    wrapped = BatchTransformLoader(loader, _noise, seed=7)
    wrapped.set_epoch(epoch)
    return wrapped


def test_draws_repeat_for_the_same_epoch_and_differ_across_epochs() -> None:
    first = [x for x, _ in _loader(0)]
    again = [x for x, _ in _loader(0)]
    other = [x for x, _ in _loader(1)]
    assert len(first) == 10
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


def test_resumed_mid_epoch_gives_the_uninterrupted_batches() -> None:
    full = [x for x, _ in _loader(1)]
    interrupted = _loader(1)
    it = iter(interrupted)
    for _ in range(4):
        next(it)
    state = interrupted.state_dict()
    resumed = _loader(0)
    resumed.load_state_dict(state)
    rest = [x for x, _ in resumed]
    assert len(rest) == 6
    assert all(torch.equal(a, b) for a, b in zip(full[4:], rest, strict=True))
    assert len(resumed) == 10
