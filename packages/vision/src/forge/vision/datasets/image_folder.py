"""Images stored as ``root/<split>/<class>/<file>`` (ImageNet's layout), decoded with Pillow."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor
from torch.utils.data import Dataset

from forge.core.data import DatasetInfo, DatasetSplits, digest, fingerprint_files
from forge.core.errors import DataError
from forge.vision.datasets.configs import ImageFolderConfig
from forge.vision.datasets.digits import image_schema
from forge.vision.datasets.in_memory import build_transform
from forge.vision.datasets.seeding import EpochSeeding

__all__ = ["ImageFolder", "build_image_folder", "load_image"]


def load_image(path: str | Path, mode: str = "RGB") -> Tensor:
    """Decode an image file into a float tensor ``(C, H, W)`` with values in [0, 1].

    Args:
        path: The image file.
        mode: Pillow mode to convert to, RGB (3 channels) or L (1 channel).

    Returns:
        The image tensor.

    Raises:
        DataError: if the file is missing or is not an image Pillow can read.
    """
    try:
        with Image.open(path) as img:
            array = np.asarray(img.convert(mode), dtype=np.uint8)
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        raise DataError(f"cannot read image {str(path)!r}: {exc}") from None
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).to(torch.float32).div_(255.0)


class ImageFolder(EpochSeeding, Dataset[tuple[Tensor, int]]):
    """A folder of class sub-folders of images; yields ``(image, label)``.

    Args:
        directory: The split folder holding one sub-folder per class.
        classes: Class names in label order; None takes the sorted sub-folder names.
        extensions: Lower-case file extensions to include.
        mode: Pillow mode, RGB or L.
        transform: Applied to each decoded image.

    Raises:
        DataError: if the folder is missing, holds a class not in ``classes``, or has no images.
    """

    def __init__(
        self,
        directory: str | Path,
        classes: Sequence[str] | None = None,
        *,
        extensions: Sequence[str] = (".jpg", ".jpeg", ".png"),
        mode: str = "RGB",
        transform: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise DataError(f"image folder {str(self.directory)!r} does not exist or is not a directory")
        found = sorted(p.name for p in self.directory.iterdir() if p.is_dir() and not p.name.startswith("."))
        self.classes: list[str] = list(classes) if classes is not None else found
        unknown = sorted(set(found) - set(self.classes))
        if unknown:
            raise DataError(
                f"image folder {str(self.directory)!r} has class folder(s) {unknown} that the training split lacks"
            )
        exts = {e.lower() for e in extensions}
        self.samples: list[tuple[Path, int]] = []
        for label, name in enumerate(self.classes):
            class_dir = self.directory / name
            if not class_dir.is_dir():
                continue
            files = sorted(p for p in class_dir.rglob("*") if p.is_file() and p.suffix.lower() in exts)
            self.samples.extend((p, label) for p in files)
        if not self.samples:
            raise DataError(
                f"image folder {str(self.directory)!r} holds no images with extensions {sorted(exts)} "
                "in class sub-folders"
            )
        self.mode = mode
        self.transform = transform
        self._init_epoch()

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        path, label = self.samples[index]
        image = load_image(path, self.mode)
        return self.apply_transform(self.transform, image, index % len(self)), label

    def __getitems__(self, indices: list[int]) -> list[tuple[Tensor, int]]:
        """Load one batch (torch's fetcher calls this); its images must all have one size.

        Raises:
            DataError: images of different sizes (after the transform) in the batch, naming the
                files, their sizes and the transform that makes them equal.
        """
        items = [self[i] for i in indices]
        sizes: dict[tuple[int, ...], Path] = {}
        for i, (image, _) in zip(indices, items, strict=True):
            sizes.setdefault(tuple(image.shape), self.samples[i][0])
        if len(sizes) > 1:
            shown = "; ".join(f"{path} is {_size(shape)}" for shape, path in list(sizes.items())[:4])
            raise DataError(
                f"image folder {str(self.directory)!r}: one batch holds images of different sizes ({shown}); "
                "a batch stacks images of one size: resize them to one size in every split, e.g. "
                'data.train_transform = {name = "vision.random_resized_crop", size = [H, W]} and '
                'data.eval_transform = {name = "vision.compose", transforms = [{name = "vision.resize", size = [H]}, '
                '{name = "vision.center_crop", size = [H, W]}]}'
            )
        return items

    def fingerprint_record(self, *, contents: bool) -> dict[str, Any]:
        """What the folder's fingerprint covers, as plain data for :func:`forge.core.data.digest`.

        Args:
            contents: Also cover the files' bytes (:func:`forge.core.data.fingerprint_files`).

        Returns:
            ``{"files": [[relative path, label, size], ...], "contents": digest of the bytes or None}``.
        """
        files = [[p.relative_to(self.directory).as_posix(), label, p.stat().st_size] for p, label in self.samples]
        paths = [p for p, _ in self.samples]
        return {"files": files, "contents": fingerprint_files(paths, root=self.directory) if contents else None}


def _size(shape: tuple[int, ...]) -> str:
    """``"3x32x28 (channels x height x width)"`` for an image tensor's shape."""
    dims = "x".join(str(d) for d in shape)
    return f"{dims} (channels x height x width)" if len(shape) == 3 else dims


def build_image_folder(config: ImageFolderConfig) -> DatasetSplits:
    """Build the splits of an image folder.

    Classes come from the training folder (or the first split present) and keep that order in
    every split, so labels agree across splits.

    Args:
        config: Root folder, split sub-folders, Pillow mode, extensions, transforms.

    Returns:
        The splits, with a fingerprint over paths, labels and sizes (and contents when
        ``hash_contents``).

    Raises:
        DataError: if no split is configured, a folder is missing or empty, or splits disagree on classes.
        ConfigError: if a transform dict is invalid.
    """
    root = Path(config.root).expanduser()
    names = {"train": config.train, "val": config.val, "test": config.test}
    present = {k: v for k, v in names.items() if v is not None}
    if not present:
        raise DataError(f"vision.image_folder: no split configured under {str(root)!r}; set train, val or test")
    train_tf = build_transform(config.train_transform, "vision.image_folder.train_transform")
    eval_tf = build_transform(config.eval_transform, "vision.image_folder.eval_transform")
    classes: list[str] | None = None
    splits: dict[str, ImageFolder | None] = {"train": None, "val": None, "test": None}
    record: dict[str, Any] = {}
    for split, sub in present.items():
        folder = ImageFolder(
            root / sub,
            classes,
            extensions=config.extensions,
            mode=config.mode,
            transform=train_tf if split == "train" else eval_tf,
        )
        classes = folder.classes
        record[split] = folder.fingerprint_record(contents=config.hash_contents)
        splits[split] = folder
    assert classes is not None  # at least one split was built above
    channels = 3 if config.mode == "RGB" else 1
    info = DatasetInfo(
        name="vision.image_folder",
        version="local",
        source=str(root.resolve()),
        license="unknown (set by the data's owner)",
        fingerprint=digest(record),
        num_classes=len(classes),
        schema=image_schema(channels, None, len(classes), transformed=True),
        task="image-classification",
        extra={
            "classes": classes,
            "channels": channels,
            "split_sizes": {k: len(v) for k, v in splits.items() if v is not None},
            "fingerprint_covers": "file contents" if config.hash_contents else "relative paths, labels and file sizes",
        },
    )
    return DatasetSplits(train=splits["train"], val=splits["val"], test=splits["test"], info=info)
