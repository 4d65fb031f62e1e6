"""Generated 2-D distributions for diffusion: two moons and a Swiss roll (no files, no download)."""

from __future__ import annotations

import numpy as np
import torch

from forge.core.data import DatasetInfo, DatasetSplits, Schema, TensorSpec, fingerprint_samples
from forge.diffusion.datasets.configs import Toy2DConfig
from forge.diffusion.datasets.tensors import GenerativePairs

__all__ = ["build_toy2d", "toy2d_points"]


def toy2d_points(kind: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` standardized points of ``kind`` and their labels (moon index, or 0 for the roll).

    Moons are centred and scaled to unit variance per axis; the Swiss roll keeps its (x, z)
    plane divided by 8, so both clouds lie roughly in [-2, 2]^2.
    """
    from sklearn.datasets import make_moons, make_swiss_roll

    if kind == "moons":
        x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
        x = (x - np.array([0.5, 0.25])) / np.array([0.87, 0.5])
    else:
        pts, _ = make_swiss_roll(n_samples=n, noise=noise * 10, random_state=seed)
        x, y = pts[:, [0, 2]] / 8.0, np.zeros(n, dtype=np.int64)
    return x.astype(np.float32), y.astype(np.int64)


def build_toy2d(config: Toy2DConfig) -> DatasetSplits:
    """Build the toy 2-D splits: independent draws (seeds ``seed``, ``seed + 1``, ``seed + 2``)."""
    splits = []
    for i, n in enumerate((config.num_train, config.num_val, config.num_test)):
        x, y = toy2d_points(config.kind, n, config.noise, config.seed + i)
        splits.append(GenerativePairs(torch.from_numpy(x), torch.from_numpy(y), conditional=False))
    schema = Schema(
        {
            "input": TensorSpec(shape=("N", 2), dtype="float32", finite=True),
            "target": TensorSpec(shape=("N",), dtype="int64"),
        }
    )
    info = DatasetInfo(
        name="diffusion.toy2d",
        version="1.0",
        source=f"generated: sklearn.datasets.make_{config.kind}",
        license="CC0-1.0",
        fingerprint=fingerprint_samples([(config.kind, config.noise, config.seed, splits[0].data[:256].numpy())]),
        num_classes=None,
        schema=schema,
        task="generation",
        extra={"kind": config.kind, "dim": 2, "split_sizes": [len(s) for s in splits]},
    )
    return DatasetSplits(train=splits[0], val=splits[1], test=splits[2], info=info)
