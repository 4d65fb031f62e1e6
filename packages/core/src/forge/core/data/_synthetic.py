"""Generated datasets that need no download: seeded Gaussian blobs for classification."""

from __future__ import annotations

import math

import torch
from torch.utils.data import TensorDataset

from forge.core.data._configs import SyntheticClassificationConfig
from forge.core.data._fingerprint import fingerprint_samples
from forge.core.data._schema import Schema, TensorSpec
from forge.core.data._types import DatasetInfo, DatasetSplits
from forge.core.errors import DataError

__all__ = ["build_synthetic_classification", "class_proportions"]


def class_proportions(num_classes: int, imbalance: float) -> list[float]:
    """Geometric class shares from 1 down to ``1 / imbalance`` (equal when ``imbalance == 1``)."""
    if num_classes == 1:
        return [1.0]
    ratio = imbalance ** (-1.0 / (num_classes - 1))
    raw = [ratio**c for c in range(num_classes)]
    total = sum(raw)
    return [r / total for r in raw]


def build_synthetic_classification(config: SyntheticClassificationConfig) -> DatasetSplits:
    """Build seeded Gaussian-blob classification splits: samples are ``(float32 input, int64 label)``.

    Raises:
        DataError: When the sizes leave an empty training split.
    """
    generator = torch.Generator().manual_seed(config.seed)
    shares = class_proportions(config.num_classes, config.imbalance)
    counts = [max(1, int(math.floor(s * config.num_samples))) for s in shares]
    counts[0] += config.num_samples - sum(counts)
    if counts[0] < 1:
        raise DataError(f"num_samples={config.num_samples} is too small for {config.num_classes} classes")
    dim = math.prod(config.input_shape)
    centres = 3.0 * torch.randn(config.num_classes, dim, generator=generator)
    labels = torch.cat([torch.full((n,), c, dtype=torch.long) for c, n in enumerate(counts)])
    inputs = centres[labels] + config.noise * torch.randn(len(labels), dim, generator=generator)
    order = torch.randperm(len(labels), generator=generator)
    inputs = inputs[order].reshape(len(labels), *config.input_shape).contiguous()
    labels = labels[order]
    n_test = int(round(config.num_samples * config.test_fraction))
    n_val = int(round(config.num_samples * config.val_fraction))
    n_train = config.num_samples - n_val - n_test
    if n_train < 1:
        raise DataError(f"val_fraction + test_fraction leave no training samples of {config.num_samples}")
    cuts = [0, n_train, n_train + n_val, config.num_samples]
    splits = [
        TensorDataset(inputs[a:b], labels[a:b]) if b > a else None for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ]
    schema = Schema(
        {
            "input": TensorSpec(shape=("N", *config.input_shape), dtype="float32", finite=True),
            "target": TensorSpec(shape=("N",), dtype="int64", classes=range(config.num_classes)),
        }
    )
    info = DatasetInfo(
        name="synthetic_classification",
        version="1",
        source="generated",
        license="Apache-2.0",
        fingerprint=fingerprint_samples([inputs, labels]),
        num_classes=config.num_classes,
        schema=schema,
        task="classification",
        extra={"class_counts": counts, "seed": config.seed},
    )
    return DatasetSplits(train=splits[0], val=splits[1], test=splits[2], info=info)
