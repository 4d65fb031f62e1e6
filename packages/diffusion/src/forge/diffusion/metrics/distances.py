"""Sample-quality distances between two point sets: the energy distance and the kernel MMD."""

from __future__ import annotations

import torch
from torch import Tensor

from forge.core.errors import DataError

__all__ = ["energy_distance", "mmd_rbf"]


def _check(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    if x.dim() != 2 or y.dim() != 2 or x.shape[1] != y.shape[1] or not len(x) or not len(y):
        raise DataError(
            f"sample distance: expected two non-empty (N, D) sets, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    return x.double(), y.double()


def energy_distance(x: Tensor, y: Tensor) -> float:
    """The energy distance ``2 E|X - Y| - E|X - X'| - E|Y - Y'|`` (Szekely & Rizzo), with V-statistics.

    It is 0 exactly when the two empirical distributions coincide and grows with their difference.

    Args:
        x: ``(N, D)`` samples.
        y: ``(M, D)`` samples.

    Raises:
        DataError: the sets are empty or differ in dimension.
    """
    x, y = _check(x, y)
    return float(2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean())


def mmd_rbf(x: Tensor, y: Tensor, bandwidth: float | None = None) -> float:
    """The squared maximum mean discrepancy with a Gaussian kernel (biased estimate).

    Args:
        x: ``(N, D)`` samples.
        y: ``(M, D)`` samples.
        bandwidth: Kernel width; None uses the median distance of the pooled samples.

    Raises:
        DataError: the sets are empty or differ in dimension.
    """
    x, y = _check(x, y)
    if bandwidth is None:
        pooled = torch.cat([x, y])
        bandwidth = float(torch.cdist(pooled, pooled).median().clamp_min(1e-12))

    def k(a: Tensor, b: Tensor) -> Tensor:
        return torch.exp(-torch.cdist(a, b).pow(2) / (2 * bandwidth**2))

    return float(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())
