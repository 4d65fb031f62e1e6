"""Class imbalance: class weights, over/undersampling samplers and SMOTE for feature vectors.

Class weights (for a weighted loss):

* ``"inverse"``: ``w_c = N / (K * n_c)``, so a balanced dataset gets weight 1 everywhere.
* ``"effective"``: Cui et al. 2019, "Class-Balanced Loss Based on Effective Number of Samples":
  ``w_c = (1 - beta) / (1 - beta ** n_c)``, rescaled to sum to the number of present classes.

A class with no samples gets weight 0 (there is nothing to weight, and an infinite weight would
poison the loss).

SMOTE is implemented here (a few lines of torch) rather than pulled in as a dependency; it follows
imbalanced-learn's algorithm and output layout (original rows first, then the synthetic rows of each
minority class in ascending class order), and a test compares the two.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler

from forge.core.data._seeding import derive_seed
from forge.core.errors import DataError

__all__ = ["OverSampler", "UnderSampler", "class_counts", "class_weights", "smote"]


def _labels_tensor(labels: Sequence[int] | torch.Tensor) -> torch.Tensor:
    tensor = torch.as_tensor(labels)
    if tensor.dim() != 1 or tensor.is_floating_point():
        raise DataError(f"labels must be a 1-d integer sequence, got shape {tuple(tensor.shape)} {tensor.dtype}")
    if tensor.numel() and int(tensor.min()) < 0:
        raise DataError(f"labels must be >= 0, found {int(tensor.min())}")
    return tensor.long()


def class_counts(labels: Sequence[int] | torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Count samples per class.

    Args:
        labels: Integer class ids.
        num_classes: Length of the result (default ``max(label) + 1``).

    Returns:
        A long tensor of counts.

    Raises:
        DataError: For non-integer or negative labels, or a label ``>= num_classes``.
    """
    tensor = _labels_tensor(labels)
    size = int(tensor.max()) + 1 if num_classes is None and tensor.numel() else (num_classes or 0)
    if tensor.numel() and int(tensor.max()) >= size:
        raise DataError(f"label {int(tensor.max())} is out of range for num_classes={size}")
    return torch.bincount(tensor, minlength=size)


def class_weights(
    labels: Sequence[int] | torch.Tensor,
    num_classes: int | None = None,
    *,
    method: str = "inverse",
    beta: float = 0.999,
) -> torch.Tensor:
    """Compute per-class loss weights from labels.

    Args:
        labels: Integer class ids of the training set.
        num_classes: Number of classes (default ``max(label) + 1``).
        method: ``"inverse"`` (inverse frequency) or ``"effective"`` (effective number of samples).
        beta: The effective-number hyperparameter in ``[0, 1)``.

    Returns:
        A float32 tensor of ``num_classes`` weights (0 for absent classes).

    Raises:
        DataError: For an unknown method, a bad beta, bad labels, or no labels at all.

    Example:
        >>> class_weights([0, 0, 0, 1]).tolist()
        [0.6666666865348206, 2.0]
    """
    counts = class_counts(labels, num_classes).double()
    if counts.sum() == 0:
        raise DataError("cannot compute class weights from zero labels")
    present = counts > 0
    weights = torch.zeros_like(counts)
    if method == "inverse":
        weights[present] = counts.sum() / (int(present.sum()) * counts[present])
    elif method == "effective":
        if not 0.0 <= beta < 1.0:
            raise DataError(f"beta must be in [0, 1), got {beta}")
        effective = (1.0 - torch.pow(torch.tensor(beta, dtype=torch.float64), counts[present])) / (1.0 - beta)
        raw = 1.0 / effective
        weights[present] = raw / raw.sum() * int(present.sum())
    else:
        raise DataError(f"unknown class weight method {method!r}: use 'inverse' or 'effective'")
    return weights.float()


class _EpochSampler(Sampler[int]):
    def __init__(self, labels: Sequence[int] | torch.Tensor, *, seed: int) -> None:
        self.labels = _labels_tensor(labels)
        if self.labels.numel() == 0:
            raise DataError(f"{type(self).__name__} needs at least one label")
        self.seed = seed
        self.epoch = 0
        self.by_class = [
            torch.nonzero(self.labels == c).flatten() for c in torch.unique(self.labels, sorted=True).tolist()
        ]

    def set_epoch(self, epoch: int) -> None:
        """Draw a different resampling for ``epoch`` (same seed and epoch, same indices)."""
        self.epoch = epoch

    def _generator(self, name: str) -> torch.Generator:
        return torch.Generator().manual_seed(derive_seed(self.seed, name, self.epoch))

    def _indices(self) -> torch.Tensor:
        raise NotImplementedError

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices().tolist())


class OverSampler(_EpochSampler):
    """Random oversampling: every class drawn up to the majority count each epoch, shuffled.

    Each class's own samples all appear; the shortfall is drawn with replacement.

    Args:
        labels: Class id of each dataset index.
        seed: Root seed (the epoch is mixed in; call :meth:`set_epoch`).
    """

    def __len__(self) -> int:
        return max(len(i) for i in self.by_class) * len(self.by_class)

    def _indices(self) -> torch.Tensor:
        generator = self._generator("oversample")
        target = max(len(i) for i in self.by_class)
        parts = []
        for members in self.by_class:
            extra = members[torch.randint(len(members), (target - len(members),), generator=generator)]
            parts.append(torch.cat([members, extra]))
        everything = torch.cat(parts)
        return everything[torch.randperm(len(everything), generator=generator)]


class UnderSampler(_EpochSampler):
    """Random undersampling: every class drawn down to the minority count each epoch, shuffled.

    Args:
        labels: Class id of each dataset index.
        seed: Root seed (the epoch is mixed in; call :meth:`set_epoch`).
    """

    def __len__(self) -> int:
        return min(len(i) for i in self.by_class) * len(self.by_class)

    def _indices(self) -> torch.Tensor:
        generator = self._generator("undersample")
        target = min(len(i) for i in self.by_class)
        parts = [members[torch.randperm(len(members), generator=generator)[:target]] for members in self.by_class]
        everything = torch.cat(parts)
        return everything[torch.randperm(len(everything), generator=generator)]


def smote(
    features: torch.Tensor,
    labels: Sequence[int] | torch.Tensor,
    *,
    k_neighbors: int = 5,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Oversample every minority class up to the majority count with SMOTE.

    Each synthetic sample is ``x + u * (x_nn - x)`` for a random minority sample ``x``, one of its
    ``k_neighbors`` nearest same-class neighbours ``x_nn`` (Euclidean) and ``u ~ U[0, 1)``.

    Args:
        features: ``[N, D]`` float tensor of feature vectors.
        labels: ``N`` integer class ids.
        k_neighbors: Neighbours considered per sample.
        seed: Seed of the draws.

    Returns:
        ``(features, labels)``: the originals followed by the synthetic samples, per minority class
        in ascending class order.

    Raises:
        DataError: For mismatched shapes, non-float features, or a minority class with no more
            than ``k_neighbors`` samples.
    """
    y = _labels_tensor(labels)
    if features.dim() != 2 or features.shape[0] != y.shape[0]:
        raise DataError(f"features must be [N, D] with N = {y.shape[0]} labels, got {tuple(features.shape)}")
    if not features.is_floating_point():
        raise DataError(f"SMOTE needs float features, got {features.dtype}")
    generator = torch.Generator().manual_seed(derive_seed(seed, "smote"))
    classes, counts = torch.unique(y, sorted=True, return_counts=True)
    majority = int(counts.max())
    new_x: list[torch.Tensor] = [features]
    new_y: list[torch.Tensor] = [y]
    for cls, count in zip(classes.tolist(), counts.tolist(), strict=True):
        needed = majority - count
        if needed == 0:
            continue
        if count <= k_neighbors:
            raise DataError(
                f"class {cls} has {count} sample(s); SMOTE with k_neighbors={k_neighbors} needs at least "
                f"{k_neighbors + 1}: lower k_neighbors or oversample instead"
            )
        members = features[y == cls]
        distances = torch.cdist(members.double(), members.double())
        distances.fill_diagonal_(float("inf"))
        neighbours = distances.topk(k_neighbors, largest=False).indices  # [count, k]
        base = torch.randint(count, (needed,), generator=generator)
        pick = neighbours[base, torch.randint(k_neighbors, (needed,), generator=generator)]
        gap = torch.rand(needed, 1, generator=generator, dtype=features.dtype)
        new_x.append(members[base] + gap * (members[pick] - members[base]))
        new_y.append(torch.full((needed,), cls, dtype=torch.long))
    return torch.cat(new_x), torch.cat(new_y)
