"""Per-sample random draws for the vision datasets: each image's augmentation from (seed, epoch, index).

A transform given its own seed (a seeded :class:`~forge.vision.transforms.Compose`) used to draw
from one generator that advanced with every image. That stream lived in whichever process read
the image (the main process, or each DataLoader worker separately), so nothing could save it, and
a run resumed mid-epoch, or read with another number of workers, drew different augmentations.

Here a seeded transform gets a fresh generator for every image, seeded from
``(transform seed, epoch, sample index)``: the draws of an image are a pure function of where it
is in the run, the same in the main process and in any worker, after any resume, and nothing
has to be checkpointed. The epoch lives in a shared-memory cell, so :meth:`set_epoch` (called by
the trainer at each epoch start) also reaches persistent workers. An unseeded transform keeps
drawing from torch's global generator, which forge's loader reseeds per batch in workers and
checkpoints in the main process.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from forge.core.data import derive_seed

__all__ = ["EpochSeeding", "transform_seed"]


def transform_seed(transform: Callable[..., Tensor] | None) -> int | None:
    """The transform's own seed (a seeded Compose's), or None when it draws from torch's global generator."""
    seed = getattr(transform, "seed", None)
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


class EpochSeeding:
    """Mixin of map-style datasets: epoch tracking and per-sample generators for seeded transforms."""

    _epoch_cell: Tensor

    def _init_epoch(self) -> None:
        # A shared-memory cell: DataLoader workers (persistent ones too) see set_epoch's value.
        self._epoch_cell = torch.zeros((), dtype=torch.int64).share_memory_()  # type: ignore[no-untyped-call]  # torch leaves it unannotated

    @property
    def epoch(self) -> int:
        """The epoch whose augmentations are drawn (set by :meth:`set_epoch`)."""
        return int(self._epoch_cell)

    def set_epoch(self, epoch: int) -> None:
        """Draw the augmentations of ``epoch`` (the trainer calls it as each epoch starts).

        Args:
            epoch: The epoch, counted from 0.
        """
        self._epoch_cell.fill_(int(epoch))

    def apply_transform(self, transform: Callable[..., Tensor] | None, image: Tensor, index: int) -> Tensor:
        """Apply ``transform`` to the image at ``index``; a seeded one draws from ``(seed, epoch, index)``.

        Args:
            transform: The transform, or None (the image is returned as is).
            image: The image ``(C, H, W)``.
            index: The sample's index in the dataset (non-negative).

        Returns:
            The transformed image.
        """
        if transform is None:
            return image
        seed = transform_seed(transform)
        if seed is None:
            return transform(image)
        generator = torch.Generator().manual_seed(derive_seed(seed, "sample", self.epoch, index))
        out: Tensor = transform(image, generator=generator)
        return out
