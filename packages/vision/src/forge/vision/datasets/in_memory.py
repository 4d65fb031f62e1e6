"""A map-style dataset over image and label tensors held in memory, plus building its transforms."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset

from forge.core.errors import DataError
from forge.vision.datasets.seeding import EpochSeeding

__all__ = ["ImageTensorDataset", "build_transform"]


def build_transform(data: Mapping[str, Any] | None, where: str) -> Callable[[Tensor], Tensor] | None:
    """Build a serialized transform dict (or None) into a callable.

    Args:
        data: ``{"name": ..., **params}`` as :meth:`Transform.to_dict` writes, or None.
        where: Key path for error messages (``"vision.digits.train_transform"``).

    Returns:
        The transform, or None.

    Raises:
        ConfigError: if the dict does not describe a transform.
    """
    if data is None:
        return None
    from forge.vision.transforms.base import transform_from_dict

    return transform_from_dict(data, where=where)


class ImageTensorDataset(EpochSeeding, Dataset[tuple[Tensor, int]]):
    """Images ``(N, C, H, W)`` with integer labels ``(N,)``; yields ``(image, label)``.

    Args:
        images: Float images with values in [0, 1].
        labels: Integer class labels.
        transform: Applied to each image as it is read (e.g. a :class:`~forge.vision.transforms.Compose`).
            A seeded one draws each image's augmentation from ``(seed, epoch, index)`` (see
            :mod:`forge.vision.datasets.seeding`), so runs resume and repeat exactly.

    Raises:
        DataError: if the shapes or dtypes do not fit.
    """

    def __init__(self, images: Tensor, labels: Tensor, transform: Callable[[Tensor], Tensor] | None = None) -> None:
        if images.dim() != 4 or not images.is_floating_point():
            raise DataError(
                f"ImageTensorDataset: expected float images (N, C, H, W), got {images.dtype} {tuple(images.shape)}"
            )
        if labels.shape != (images.shape[0],) or labels.is_floating_point():
            raise DataError(
                f"ImageTensorDataset: expected {images.shape[0]} integer labels, "
                f"got {labels.dtype} {tuple(labels.shape)}"
            )
        self.images = images
        self.labels = labels.to(torch.int64)
        self.transform = transform
        self._init_epoch()

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} images")
        index = index % len(self)
        image = self.apply_transform(self.transform, self.images[index], index)
        return image, int(self.labels[index])
