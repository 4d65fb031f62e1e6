"""Deterministic stratified train/val/test splits."""

from __future__ import annotations

from typing import Any

import numpy as np

from forge.core.errors import DataError

__all__ = ["stratified_split"]


def stratified_split(
    labels: np.ndarray[Any, Any], val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Split sample indices into train/val/test, keeping each class's share in every split.

    Each class is shuffled with ``seed`` and cut at rounded fractions of its own size, so the
    result depends only on the labels and the seed (not on library versions).

    Args:
        labels: Integer labels, one per sample.
        val_fraction: Share of each class for validation.
        test_fraction: Share of each class for testing.
        seed: Shuffle seed.

    Returns:
        Sorted index arrays ``(train, val, test)``; they partition ``range(len(labels))``.

    Raises:
        DataError: if the fractions leave no training samples for some class.
    """
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise DataError(f"fractions must be >= 0 and sum to < 1, got val {val_fraction}, test {test_fraction}")
    rng = np.random.default_rng(seed)
    parts: tuple[list[np.ndarray[Any, Any]], ...] = ([], [], [])
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        idx = idx[rng.permutation(idx.size)]
        n_test = int(round(idx.size * test_fraction))
        n_val = int(round(idx.size * val_fraction))
        if idx.size - n_test - n_val < 1:
            raise DataError(f"class {cls} has {idx.size} samples: too few to keep one for training")
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test : n_test + n_val])
        parts[0].append(idx[n_test + n_val :])
    train, val, test = (np.sort(np.concatenate(p)).astype(np.int64) for p in parts)
    return train, val, test
