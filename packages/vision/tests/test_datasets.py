"""Digits, shapes and image-folder datasets: splits, determinism, fingerprints, errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from forge.core.data._schema import validate_batch
from forge.core.data._types import DatasetSplits
from forge.core.errors import DataError
from forge.vision.datasets import (
    DigitsConfig,
    ImageFolderConfig,
    ShapesConfig,
    build_digits,
    build_image_folder,
    build_shapes,
    draw_shapes,
)
from forge.vision.datasets.splitting import stratified_split


def _get(split: Any) -> Any:
    """A present split, typed loosely so tests can reach dataset attributes."""
    assert split is not None
    return split


def test_digits_splits_partition_1797_images_stratified_and_reproducibly() -> None:
    splits = build_digits(DigitsConfig(seed=0))
    assert isinstance(splits, DatasetSplits)
    sizes = [len(_get(d)) for _, d in splits.items()]
    assert sum(sizes) == 1797 and splits.info.num_classes == 10
    image, label = _get(splits.train)[0]
    assert image.shape == (1, 8, 8) and image.dtype == torch.float32 and 0 <= label < 10
    assert float(_get(splits.train).images.max()) <= 1.0
    test_counts = torch.bincount(_get(splits.test).labels, minlength=10)
    assert int(test_counts.min()) >= 34 and int(test_counts.max()) <= 38  # about 20% of ~180 per class
    again = build_digits(DigitsConfig(seed=0))
    assert again.info.fingerprint == splits.info.fingerprint
    assert torch.equal(_get(again.test).labels, _get(splits.test).labels)
    other = build_digits(DigitsConfig(seed=1))
    assert other.info.fingerprint != splits.info.fingerprint
    assert "BSD-3-Clause" in splits.info.license


def test_digits_batches_satisfy_their_schema() -> None:
    splits = build_digits(DigitsConfig())
    batch = next(iter(torch.utils.data.DataLoader(_get(splits.train), batch_size=16)))
    assert splits.info.schema is not None
    assert validate_batch(batch, splits.info.schema) == []


def test_digits_apply_the_configured_train_transform() -> None:
    cfg = DigitsConfig(train_transform={"name": "vision.resize", "size": [16, 16]})
    splits = build_digits(cfg)
    assert _get(splits.train)[0][0].shape == (1, 16, 16)
    assert _get(splits.test)[0][0].shape == (1, 8, 8)


def test_stratified_split_partitions_indices() -> None:
    labels = np.repeat(np.arange(3), 10)
    train, val, test = stratified_split(labels, 0.2, 0.3, seed=4)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(30))
    assert np.bincount(labels[test]).tolist() == [3, 3, 3]
    with pytest.raises(DataError):
        stratified_split(labels, 0.5, 0.5, seed=0)


def test_shapes_are_deterministic_balanced_and_distinct_per_seed() -> None:
    a, la = draw_shapes(40, ["circle", "square", "triangle", "cross"], size=16, seed=3)
    b, lb = draw_shapes(40, ["circle", "square", "triangle", "cross"], size=16, seed=3)
    c, _ = draw_shapes(40, ["circle", "square", "triangle", "cross"], size=16, seed=4)
    assert np.array_equal(a, b) and np.array_equal(la, lb) and not np.array_equal(a, c)
    assert np.bincount(la).tolist() == [10, 10, 10, 10]
    assert a.shape == (40, 3, 16, 16) and a.min() >= 0 and a.max() <= 1


def test_noise_free_shapes_have_two_levels_per_channel_and_differ_by_class() -> None:
    images, labels = draw_shapes(8, ["circle", "square"], size=24, channels=1, noise=0.0, seed=0)
    for img in images:
        assert len(np.unique(img)) == 2
    circle = images[labels == 0][0, 0]
    fg = circle != circle[0, 0]
    area = fg.mean()
    assert 0.05 < area < 0.6


def test_build_shapes_splits_and_fingerprint() -> None:
    cfg = ShapesConfig(image_size=16, num_train=20, num_val=8, num_test=0, channels=1)
    splits = build_shapes(cfg)
    assert len(_get(splits.train)) == 20 and len(_get(splits.val)) == 8 and splits.test is None
    assert _get(splits.train)[0][0].shape == (1, 16, 16)
    assert splits.info.fingerprint == build_shapes(cfg).info.fingerprint
    assert (
        splits.info.fingerprint
        != build_shapes(
            ShapesConfig(image_size=16, num_train=20, num_val=8, num_test=0, channels=1, seed=1)
        ).info.fingerprint
    )


def _write_folder(root: Path, split: str, classes: dict[str, int]) -> None:
    rng = np.random.default_rng(0)
    for name, count in classes.items():
        (root / split / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            arr = (rng.random((6 + i, 5, 3)) * 255).astype(np.uint8)
            Image.fromarray(arr).save(root / split / name / f"{i}.png")


def test_image_folder_reads_splits_with_shared_classes(tmp_path: Path) -> None:
    _write_folder(tmp_path, "train", {"cat": 2, "dog": 3})
    _write_folder(tmp_path, "val", {"dog": 1})
    splits = build_image_folder(
        ImageFolderConfig(root=str(tmp_path), eval_transform={"name": "vision.resize", "size": [4, 4]})
    )
    assert len(_get(splits.train)) == 5 and len(_get(splits.val)) == 1
    image, label = _get(splits.val)[0]
    assert image.shape == (3, 4, 4) and label == 1  # "dog" keeps the training split's label
    raw, _ = _get(splits.train)[0]
    assert raw.shape == (3, 6, 5) and 0 <= float(raw.min()) and float(raw.max()) <= 1
    assert splits.info.extra["classes"] == ["cat", "dog"]
    first = splits.info.fingerprint
    Image.fromarray(np.zeros((9, 9, 3), np.uint8)).save(tmp_path / "train" / "cat" / "new.png")
    assert build_image_folder(ImageFolderConfig(root=str(tmp_path))).info.fingerprint != first


def test_fingerprints_share_core_s_format_and_contents_mode_sees_bytes(tmp_path: Path) -> None:
    _write_folder(tmp_path, "train", {"cat": 2})
    listing = ImageFolderConfig(root=str(tmp_path), val=None)
    contents = ImageFolderConfig(root=str(tmp_path), val=None, hash_contents=True)
    before = [build_image_folder(c).info.fingerprint for c in (listing, contents)]
    small = ShapesConfig(image_size=8, num_train=4, num_val=0, num_test=0)
    for fingerprint in [*before, build_shapes(small).info.fingerprint, build_digits(DigitsConfig()).info.fingerprint]:
        assert re.fullmatch(r"[0-9a-f]{64}", fingerprint)
    assert before[0] != before[1]
    image = tmp_path / "train" / "cat" / "0.png"
    image.write_bytes(image.read_bytes()[:-1] + b"\0")  # same size, same name, other bytes
    after = [build_image_folder(c).info.fingerprint for c in (listing, contents)]
    assert after[0] == before[0] and after[1] != before[1]


def test_image_folder_errors_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        build_image_folder(ImageFolderConfig(root=str(tmp_path / "missing")))
    _write_folder(tmp_path, "train", {"cat": 1})
    _write_folder(tmp_path, "val", {"cow": 1})
    with pytest.raises(DataError, match="cow"):
        build_image_folder(ImageFolderConfig(root=str(tmp_path)))
    (tmp_path / "train" / "cat" / "bad.png").write_bytes(b"not an image")
    folder = build_image_folder(ImageFolderConfig(root=str(tmp_path), val=None))
    bad = [i for i, (p, _) in enumerate(_get(folder.train).samples) if p.name == "bad.png"][0]
    with pytest.raises(DataError, match="bad.png"):
        _get(folder.train)[bad]
