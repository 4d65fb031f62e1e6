"""The hand-written digits dataset from scikit-learn's bundled copy (no download)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from forge.core.data import DatasetInfo, DatasetSplits, Schema, TensorSpec, fingerprint_samples
from forge.vision.datasets.configs import DigitsConfig
from forge.vision.datasets.in_memory import ImageTensorDataset, build_transform
from forge.vision.datasets.splitting import stratified_split

__all__ = ["DIGITS_LICENSE", "DIGITS_SOURCE", "build_digits", "image_schema"]

DIGITS_SOURCE = "sklearn.datasets.load_digits: UCI ML hand-written digits (optdigits test set), Alpaydin & Kaynak, 1998"
DIGITS_LICENSE = "BSD-3-Clause (scikit-learn's bundled copy); UCI ML Repository CC-BY-4.0"


def image_schema(channels: int, size: int | None, num_classes: int, transformed: bool) -> Schema:
    """Schema of collated ``(images, labels)`` batches of an image-classification dataset.

    Args:
        channels: Image channels.
        size: Height and width before any transform, or None when images vary in size.
        num_classes: Number of classes.
        transformed: Whether a transform may change sizes and value ranges.

    Returns:
        The schema: float32 ``(N, C, H, W)`` inputs (in [0, 1] when untransformed) and int64 labels.
    """
    fixed = size is not None and not transformed
    side: int | str | None = size if fixed else None
    image = TensorSpec(
        shape=("N", channels, side, side),
        dtype="float32",
        min=0.0 if not transformed else None,
        max=1.0 if not transformed else None,
        finite=True,
    )
    label = TensorSpec(shape=("N",), dtype="int64", classes=range(num_classes))
    return Schema({"input": image, "target": label})


def build_digits(config: DigitsConfig) -> DatasetSplits:
    """Build the digits splits: 8x8 single-channel images scaled to [0, 1], 10 classes.

    Args:
        config: Split fractions, seed and transforms.

    Returns:
        Stratified train/val/test splits (the val split is None when ``val_fraction`` is 0) with
        a fingerprint over the pixels, labels and split indices.

    Raises:
        ConfigError: if a transform dict is invalid.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images_np = (np.asarray(bunch.images, dtype=np.float32) / 16.0).reshape(-1, 1, 8, 8)
    labels_np = np.asarray(bunch.target, dtype=np.int64)
    train_idx, val_idx, test_idx = stratified_split(labels_np, config.val_fraction, config.test_fraction, config.seed)
    images, labels = torch.from_numpy(images_np), torch.from_numpy(labels_np)
    train_tf = build_transform(config.train_transform, "vision.digits.train_transform")
    eval_tf = build_transform(config.eval_transform, "vision.digits.eval_transform")

    def subset(idx: np.ndarray[Any, Any], transform: Callable[[Tensor], Tensor] | None) -> ImageTensorDataset | None:
        if idx.size == 0:
            return None
        t = torch.from_numpy(idx)
        return ImageTensorDataset(images[t].clone(), labels[t].clone(), transform)

    info = DatasetInfo(
        name="vision.digits",
        version="1.0",
        source=DIGITS_SOURCE,
        license=DIGITS_LICENSE,
        fingerprint=fingerprint_samples([(images_np, labels_np, train_idx, val_idx, test_idx, {"scale": "x/16"})]),
        num_classes=10,
        schema=image_schema(
            1, 8, 10, transformed=config.train_transform is not None or config.eval_transform is not None
        ),
        task="image-classification",
        extra={
            "classes": [str(i) for i in range(10)],
            "image_size": [8, 8],
            "channels": 1,
            "split_sizes": {"train": int(train_idx.size), "val": int(val_idx.size), "test": int(test_idx.size)},
            "seed": config.seed,
        },
    )
    return DatasetSplits(
        train=subset(train_idx, train_tf), val=subset(val_idx, eval_tf), test=subset(test_idx, eval_tf), info=info
    )
