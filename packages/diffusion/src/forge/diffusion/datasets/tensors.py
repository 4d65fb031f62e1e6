"""An in-memory dataset of paired tensors, and a deterministic stratified split."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from forge.core.errors import DataError

__all__ = ["Conditioned", "GenerativePairs", "stratified_indices"]


class Conditioned(list[Tensor]):
    """A model input ``[data, condition]`` that batches like a tensor of ``data``'s shape.

    forge's Trainer counts a batch's samples from its input's ``shape`` and moves inputs to the
    device element by element; a plain ``(data, condition)`` pair has no shape, and PyTorch's
    collate turns tuples into lists. This ``list`` subclass survives collation (``collate`` rebuilds
    a sequence with its own type), ``.to``-style device moves and batch splitting, and reports
    ``data``'s shape, so conditional data flows through the ordinary ``(input, target)`` loop.

    Example:
        >>> inputs = Conditioned([torch.zeros(4, 1, 8, 8), torch.arange(4)])
        >>> inputs.shape[0]
        4
    """

    @property
    def shape(self) -> torch.Size:
        """The shape of the data (the first element)."""
        return self[0].shape


class GenerativePairs(Dataset[tuple[Any, Tensor]]):
    """Samples ``(x, label)``, or ``(Conditioned([x, label]), label)`` when ``conditional`` (the model sees the label).

    Args:
        data: ``(N, ...)`` float tensor.
        labels: ``(N,)`` int64 tensor.
        conditional: Whether the label is part of the model's input.
    """

    def __init__(self, data: Tensor, labels: Tensor, *, conditional: bool) -> None:
        if data.shape[0] != labels.shape[0]:
            raise DataError(f"GenerativePairs: {data.shape[0]} samples but {labels.shape[0]} labels")
        self.data = data
        self.labels = labels
        self.conditional = conditional

    def __len__(self) -> int:
        return int(self.data.shape[0])

    def __getitem__(self, index: int) -> tuple[Any, Tensor]:
        x, y = self.data[index], self.labels[index]
        return (Conditioned([x, y]), y) if self.conditional else (x, y)


def stratified_indices(
    labels: np.ndarray[Any, Any], val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Split indices into train/val/test keeping each class's share (shuffled per class with ``seed``).

    Raises:
        DataError: a class would keep no training sample.
    """
    rng = np.random.default_rng(seed)
    parts: tuple[list[np.ndarray[Any, Any]], ...] = ([], [], [])
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        idx = idx[rng.permutation(idx.size)]
        n_test, n_val = int(round(idx.size * test_fraction)), int(round(idx.size * val_fraction))
        if idx.size - n_test - n_val < 1:
            raise DataError(f"class {cls} has {idx.size} samples: too few to keep one for training")
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test : n_test + n_val])
        parts[0].append(idx[n_test + n_val :])
    train, val, test = (np.sort(np.concatenate(p)).astype(np.int64) for p in parts)
    return train, val, test


def as_tensor(array: np.ndarray[Any, Any], dtype: torch.dtype) -> Tensor:
    """A contiguous tensor copy of ``array``."""
    return torch.from_numpy(np.ascontiguousarray(array)).to(dtype)
