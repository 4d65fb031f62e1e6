"""A procedural dataset of simple shapes (circle, square, triangle, cross, ring, diamond) with noise.

Every image draws one shape at a random position, size and rotation, in a random colour on a
random background of different brightness, then adds Gaussian noise. The same config always
draws the same pixels (numpy's PCG64 seeded per split), so the dataset needs no files at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from forge.core.data import DatasetInfo, DatasetSplits, fingerprint_samples
from forge.vision.datasets.configs import ShapesConfig
from forge.vision.datasets.digits import image_schema
from forge.vision.datasets.in_memory import ImageTensorDataset, build_transform

__all__ = ["build_shapes", "draw_shapes"]

_SPLIT_STREAMS = {"train": 0, "val": 1, "test": 2}


def _masks(
    kinds: np.ndarray[Any, Any], names: Sequence[str], size: int, rng: np.random.Generator
) -> np.ndarray[Any, Any]:
    """Boolean masks ``(n, size, size)`` of one shape each, randomly placed, scaled and rotated."""
    n = kinds.size
    radius = rng.uniform(0.18, 0.32, n) * size
    cx = rng.uniform(0.0, 1.0, n) * (size - 2 * radius) + radius
    cy = rng.uniform(0.0, 1.0, n) * (size - 2 * radius) + radius
    angle = rng.uniform(0.0, 2 * np.pi, n)
    grid = np.arange(size, dtype=np.float64) + 0.5
    x = grid[None, None, :] - cx[:, None, None]
    y = grid[None, :, None] - cy[:, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u, v = cos * x + sin * y, -sin * x + cos * y
    r = radius[:, None, None]
    dist = np.hypot(u, v)
    shapes = {
        "circle": dist <= r,
        "square": np.maximum(np.abs(u), np.abs(v)) <= r * 0.8,
        "cross": ((np.abs(u) <= r / 3) & (np.abs(v) <= r)) | ((np.abs(v) <= r / 3) & (np.abs(u) <= r)),
        "ring": (dist <= r) & (dist >= r * 0.55),
        "diamond": np.abs(u) + np.abs(v) <= r,
    }
    # Equilateral triangle: inside the three half-planes whose normals point 120 degrees apart.
    tri = np.ones_like(dist, dtype=bool)
    for k in range(3):
        a = np.pi / 2 + k * 2 * np.pi / 3
        tri &= np.cos(a) * u + np.sin(a) * v <= r / 2
    shapes["triangle"] = tri
    masks = np.zeros((n, size, size), dtype=bool)
    for label, name in enumerate(names):
        sel = kinds == label
        masks[sel] = shapes[name][sel]
    return masks


def draw_shapes(
    n: int, names: Sequence[str], *, size: int = 32, channels: int = 3, noise: float = 0.08, seed: int = 0
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Draw ``n`` shape images with balanced labels.

    Args:
        n: Number of images.
        names: Shape of each class (see :data:`~forge.vision.datasets.configs.SHAPE_CLASSES`).
        size: Image height and width.
        channels: 1 or 3.
        noise: Standard deviation of the added Gaussian noise.
        seed: Seed; equal arguments give equal arrays.

    Returns:
        ``(images, labels)``: float32 ``(n, channels, size, size)`` in [0, 1] and int64 ``(n,)``.
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(names)).astype(np.int64)
    masks = _masks(labels, names, size, rng)
    # Foreground and background brightness differ by at least 0.3 so every shape stays visible.
    bg_level = rng.uniform(0.0, 0.4, n)
    fg_level = np.clip(bg_level + rng.uniform(0.3, 0.6, n), 0.0, 1.0)
    flip = rng.random(n) < 0.5
    bg_level, fg_level = np.where(flip, fg_level, bg_level), np.where(flip, bg_level, fg_level)
    if channels == 3:
        tint_bg = rng.uniform(0.6, 1.0, (n, 3))
        tint_fg = rng.uniform(0.6, 1.0, (n, 3))
        bg = bg_level[:, None] * tint_bg
        fg = fg_level[:, None] * tint_fg
    else:
        bg, fg = bg_level[:, None], fg_level[:, None]
    images = np.where(masks[:, None], fg[:, :, None, None], bg[:, :, None, None])
    images = images + rng.normal(0.0, noise, images.shape) if noise > 0 else images
    return np.clip(images, 0.0, 1.0).astype(np.float32), labels


def build_shapes(config: ShapesConfig) -> DatasetSplits:
    """Build the shapes splits.

    Args:
        config: Classes, image size, split sizes, noise, seed and transforms.

    Returns:
        Train/val/test splits (a split of size 0 is None), fingerprinted over every pixel and label.

    Raises:
        ConfigError: if a transform dict is invalid.
    """
    train_tf = build_transform(config.train_transform, "vision.shapes.train_transform")
    eval_tf = build_transform(config.eval_transform, "vision.shapes.eval_transform")
    arrays: list[np.ndarray[Any, Any]] = []
    splits: dict[str, ImageTensorDataset | None] = {}
    for split, count in (("train", config.num_train), ("val", config.num_val), ("test", config.num_test)):
        if count == 0:
            splits[split] = None
            continue
        # Each split has its own stream, so changing one split's size leaves the others unchanged.
        seed = int(np.random.SeedSequence([config.seed, _SPLIT_STREAMS[split]]).generate_state(1)[0])
        images, labels = draw_shapes(
            count, config.classes, size=config.image_size, channels=config.channels, noise=config.noise, seed=seed
        )
        arrays += [images, labels]
        splits[split] = ImageTensorDataset(
            torch.from_numpy(images), torch.from_numpy(labels), train_tf if split == "train" else eval_tf
        )
    k = len(config.classes)
    info = DatasetInfo(
        name="vision.shapes",
        version="1.0",
        source="generated (forge.vision.datasets.shapes)",
        license="Apache-2.0",
        fingerprint=fingerprint_samples(
            [(*arrays, {"classes": list(config.classes), "sizes": [config.num_train, config.num_val, config.num_test]})]
        ),
        num_classes=k,
        schema=image_schema(
            config.channels,
            config.image_size,
            k,
            transformed=config.train_transform is not None or config.eval_transform is not None,
        ),
        task="image-classification",
        extra={
            "classes": list(config.classes),
            "image_size": [config.image_size, config.image_size],
            "channels": config.channels,
            "seed": config.seed,
        },
    )
    return DatasetSplits(train=splits["train"], val=splits["val"], test=splits["test"], info=info)
