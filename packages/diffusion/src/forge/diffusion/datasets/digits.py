"""scikit-learn's bundled 8x8 digits, scaled to [-1, 1] for diffusion (no download)."""

from __future__ import annotations

import numpy as np
import torch

from forge.core.data import DatasetInfo, DatasetSplits, fingerprint_samples
from forge.diffusion.datasets.configs import DigitsConfig
from forge.diffusion.datasets.tensors import GenerativePairs, stratified_indices

__all__ = ["DIGITS_SOURCE", "build_digits", "load_digits_images"]

DIGITS_SOURCE = "sklearn.datasets.load_digits: UCI ML hand-written digits (optdigits test set), Alpaydin & Kaynak, 1998"


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits as float32 ``(N, 1, 8, 8)`` images in [-1, 1] and int64 labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (np.asarray(bunch.images, dtype=np.float32) / 8.0 - 1.0).reshape(-1, 1, 8, 8)
    return images, np.asarray(bunch.target, dtype=np.int64)


def build_digits(config: DigitsConfig) -> DatasetSplits:
    """Build stratified digits splits whose inputs are ``(image, label)`` (``conditional``) or images."""
    images, labels = load_digits_images()
    idx = stratified_indices(labels, config.val_fraction, config.test_fraction, config.seed)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)

    def subset(i: np.ndarray) -> GenerativePairs | None:
        if i.size == 0:
            return None
        t = torch.from_numpy(i)
        return GenerativePairs(x[t].clone(), y[t].clone(), conditional=config.conditional)

    info = DatasetInfo(
        name="diffusion.digits",
        version="1.0",
        source=DIGITS_SOURCE,
        license="BSD-3-Clause (scikit-learn's bundled copy); UCI ML Repository CC-BY-4.0",
        fingerprint=fingerprint_samples([(images, labels, *idx, {"scale": "x/8-1"})]),
        num_classes=10 if config.conditional else None,
        task="generation",
        extra={
            "classes": [str(i) for i in range(10)],
            "image_size": [8, 8],
            "channels": 1,
            "range": [-1, 1],
            "split_sizes": {"train": int(idx[0].size), "val": int(idx[1].size), "test": int(idx[2].size)},
        },
    )
    return DatasetSplits(train=subset(idx[0]), val=subset(idx[1]), test=subset(idx[2]), info=info)
