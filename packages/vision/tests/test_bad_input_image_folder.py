"""An image folder whose images differ in size says which files, which sizes and what transform to add."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forge.core.data import LoaderConfig, build_loader
from forge.core.errors import DataError
from forge.vision.datasets.image_folder import ImageFolder


def _folder(root: Path, sizes: dict[str, tuple[int, int]]) -> Path:
    for name, (width, height) in sizes.items():
        path = root / "cat" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((height, width, 3), dtype=np.uint8)).save(path)
    return root


@pytest.mark.parametrize("workers", [0, 1])
def test_images_of_different_sizes_in_one_batch_name_files_sizes_and_the_fix(tmp_path: Path, workers: int) -> None:
    folder = ImageFolder(_folder(tmp_path, {"a.png": (8, 8), "b.png": (6, 5)}))
    loader = build_loader(folder, LoaderConfig(batch_size=2, num_workers=workers, shuffle=False), seed=0)
    with pytest.raises(DataError) as info:
        list(loader)
    text = str(info.value)
    assert not text.startswith("Caught")
    assert f"{tmp_path / 'cat' / 'a.png'} is 3x8x8 (channels x height x width)" in text
    assert f"{tmp_path / 'cat' / 'b.png'} is 3x5x6 (channels x height x width)" in text
    assert "vision.resize" in text and "data.train_transform" in text


def test_images_of_one_size_load_as_batches(tmp_path: Path) -> None:
    folder = ImageFolder(_folder(tmp_path, {"a.png": (8, 8), "b.png": (8, 8), "c.png": (8, 8)}))
    batches = list(build_loader(folder, LoaderConfig(batch_size=2, num_workers=0, shuffle=False), seed=0))
    assert [tuple(images.shape) for images, _ in batches] == [(2, 3, 8, 8), (1, 3, 8, 8)]
