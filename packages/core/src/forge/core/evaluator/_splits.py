"""Cross-validation splits: k-fold, stratified k-fold, and time-series splits without look-ahead."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import numpy as np

from forge.core.errors import ConfigError

__all__ = ["kfold", "stratified_kfold", "time_series_splits"]

Indices = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]


def kfold(n: int, k: int = 5, *, shuffle: bool = True, seed: int = 0) -> Iterator[Indices]:
    """``k`` (train, test) index pairs; each example is in exactly one test fold."""
    if not 2 <= k <= n:
        raise ConfigError(f"k: {k} folds need 2 <= k <= n ({n} examples)")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    for fold in np.array_split(order, k):
        yield np.setdiff1d(order, fold, assume_unique=True), np.sort(fold)


def stratified_kfold(labels: Any, k: int = 5, *, seed: int = 0) -> Iterator[Indices]:
    """``k`` folds with each class's share the same in every fold (up to rounding)."""
    y = np.asarray(labels)
    counts = {c: int(np.sum(y == c)) for c in np.unique(y)}
    if k < 2 or min(counts.values()) < k:
        raise ConfigError(
            f"k: {k} folds need at least k examples of every class (smallest class has {min(counts.values())})"
        )
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for c in sorted(counts):
        members = rng.permutation(np.flatnonzero(y == c))
        for i, idx in enumerate(members):
            folds[(i + offset) % k].append(int(idx))
        offset += len(members)
    every = np.arange(y.size)
    for fold in folds:
        test = np.sort(np.array(fold, dtype=int))
        yield np.setdiff1d(every, test, assume_unique=True), test


def time_series_splits(
    n: int,
    n_splits: int = 5,
    *,
    mode: Literal["expanding", "sliding"] = "expanding",
    window: int | None = None,
    test_size: int | None = None,
    gap: int = 0,
) -> Iterator[Indices]:
    """Splits of ordered data where every training index precedes every test index (no look-ahead).

    Args:
        n: Number of time-ordered examples.
        n_splits: Number of (train, test) pairs.
        mode: ``expanding`` (train from the start) or ``sliding`` (the last ``window`` examples).
        window: Training length for ``sliding`` (default: the first test start).
        test_size: Examples per test block (default ``n // (n_splits + 1)``).
        gap: Examples left out between train and test (against leakage through autocorrelation).
    """
    size = test_size or n // (n_splits + 1)
    first_test = n - n_splits * size
    if size < 1 or first_test - gap < 1:
        raise ConfigError(
            f"time_series_splits: {n} examples cannot hold {n_splits} test blocks of {size} plus gap {gap}"
        )
    if mode not in ("expanding", "sliding"):
        raise ConfigError(f"mode {mode!r}: expected expanding or sliding")
    width = window or (first_test - gap)
    for i in range(n_splits):
        start = first_test + i * size
        end_train = start - gap
        begin = 0 if mode == "expanding" else max(0, end_train - width)
        yield np.arange(begin, end_train), np.arange(start, start + size)
