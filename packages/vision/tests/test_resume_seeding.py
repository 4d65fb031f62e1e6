"""A seeded transform's draws depend on (seed, epoch, sample index) alone: workers, order, resume.

A seeded Compose used to advance one generator per process, so a run resumed mid-epoch (or read
with another number of DataLoader workers) augmented differently; see
:mod:`forge.vision.datasets.seeding`.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from forge.core.data import LoaderConfig, build_loader
from forge.core.errors import DataError
from forge.vision.datasets.in_memory import ImageTensorDataset
from forge.vision.transforms import Compose, RandomHorizontalFlip, RandomResizedCrop


def _dataset(seed: int | None = 0) -> ImageTensorDataset:
    g = torch.Generator().manual_seed(0)
    images = torch.rand(24, 1, 8, 8, generator=g)
    labels = torch.arange(24) % 3
    aug = Compose([RandomResizedCrop(size=[8, 8], scale=[0.5, 1.0]), RandomHorizontalFlip(p=0.5)], seed=seed)
    return ImageTensorDataset(images, labels, aug)


def _epochs(workers: int, epochs: int = 2) -> list[list[Any]]:
    dataset = _dataset()
    config = LoaderConfig(batch_size=4, num_workers=workers, shuffle=True, persistent_workers=workers > 0 or None)
    loader = build_loader(dataset, config, seed=3)
    out = []
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        loader.dataset.set_epoch(epoch)  # what the Trainer does at each epoch start
        out.append([batch[0].clone() for batch in loader])
    return out


def test_an_image_draws_from_seed_epoch_and_index_only() -> None:
    dataset = _dataset()
    first = [dataset[i][0] for i in range(6)]
    # another order, the same images
    assert all(torch.equal(dataset[i][0], first[i]) for i in reversed(range(6)))
    assert torch.equal(dataset[-24][0], first[0])
    dataset.set_epoch(1)
    assert dataset.epoch == 1
    assert not all(torch.equal(dataset[i][0], first[i]) for i in range(6))  # a new epoch, new augmentations
    dataset.set_epoch(0)
    assert all(torch.equal(dataset[i][0], first[i]) for i in range(6))


def test_persistent_workers_draw_what_the_main_process_draws_every_epoch() -> None:
    main, workers = _epochs(0), _epochs(2)
    for epoch in range(2):
        assert len(main[epoch]) == len(workers[epoch]) == 6
        assert all(torch.equal(a, b) for a, b in zip(main[epoch], workers[epoch], strict=True)), epoch
    assert not torch.equal(torch.cat(main[0]), torch.cat(main[1]))


def test_an_unseeded_transform_keeps_drawing_from_torchs_global_generator() -> None:
    dataset = _dataset(seed=None)
    torch.manual_seed(5)
    a = dataset[0][0]
    torch.manual_seed(5)
    assert torch.equal(dataset[0][0], a)


def test_compose_generator_position_round_trips() -> None:
    aug = Compose([RandomResizedCrop(size=[8, 8])], seed=1)
    image = torch.rand(1, 8, 8)
    aug(image)
    state = aug.state_dict()
    expected = aug(image)
    aug(image)
    aug.load_state_dict(state)
    assert torch.equal(aug(image), expected)
    with pytest.raises(DataError, match="seeded 1"):
        Compose([RandomResizedCrop(size=[8, 8])], seed=2).load_state_dict(state)
