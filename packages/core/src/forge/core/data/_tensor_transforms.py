"""Generic tensor transforms (channel normalization, random crop, horizontal flip) that serialize.

Each applies to a tensor sample, or to the first element of an ``(input, target, ...)`` tuple.
Random transforms draw from torch's global generator, which forge's loader seeds per worker and
rank (:class:`~forge.core.data._seeding.WorkerSeeder`), so runs repeat exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch

from forge.core.data._compose import Transform
from forge.core.data._configs import NormalizeConfig, RandomCropConfig, RandomHorizontalFlipConfig
from forge.core.errors import ConfigError, DataError

__all__ = ["Normalize", "RandomCrop", "RandomHorizontalFlip"]


def _on_input(sample: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    if isinstance(sample, tuple) and sample and isinstance(sample[0], torch.Tensor):
        return (fn(sample[0]), *sample[1:])
    if isinstance(sample, torch.Tensor):
        return fn(sample)
    raise DataError(f"expected a tensor or an (input, ...) tuple, got {type(sample).__name__}")


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` for a ``[C, ...]`` tensor."""

    name: ClassVar[str] = "core.normalize"
    config_class: ClassVar[type[NormalizeConfig]] = NormalizeConfig

    def __init__(self, config: NormalizeConfig) -> None:
        """Args:
        config: Per-channel means and standard deviations.

        Raises:
            ConfigError: When the lists differ in length or a std is not positive.
        """
        if len(config.mean) != len(config.std) or not config.mean:
            raise ConfigError(f"normalize: mean {config.mean} and std {config.std} must be non-empty and equally long")
        if any(s <= 0 for s in config.std):
            raise ConfigError(f"normalize: every std must be > 0, got {config.std}")
        self.config = config
        self._mean = torch.tensor(config.mean, dtype=torch.float32)
        self._std = torch.tensor(config.std, dtype=torch.float32)

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] != len(self._mean):
            raise DataError(f"normalize: input has {x.shape[0]} channels, config has {len(self._mean)}")
        shape = (-1,) + (1,) * (x.dim() - 1)
        return (x.float() - self._mean.view(shape)) / self._std.view(shape)

    def __call__(self, sample: Any) -> Any:
        """Normalize the input tensor."""
        return _on_input(sample, self._apply)


class RandomCrop(Transform):
    """Zero-pad the last two dims by ``padding`` then crop a random ``size`` window."""

    name: ClassVar[str] = "core.random_crop"
    config_class: ClassVar[type[RandomCropConfig]] = RandomCropConfig

    def __init__(self, config: RandomCropConfig) -> None:
        """Args:
        config: Output size and padding.

        Raises:
            ConfigError: When ``size`` is not two positive ints.
        """
        if len(config.size) != 2 or min(config.size) < 1:
            raise ConfigError(f"random_crop: size must be [height, width] > 0, got {config.size}")
        self.config = config

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        p = self.config.padding
        if p:
            x = torch.nn.functional.pad(x, (p, p, p, p))
        height, width = self.config.size
        if x.shape[-2] < height or x.shape[-1] < width:
            raise DataError(f"random_crop: input {tuple(x.shape)} is smaller than the crop {self.config.size}")
        top = int(torch.randint(x.shape[-2] - height + 1, ()).item())
        left = int(torch.randint(x.shape[-1] - width + 1, ()).item())
        return x[..., top : top + height, left : left + width]

    def __call__(self, sample: Any) -> Any:
        """Crop the input tensor."""
        return _on_input(sample, self._apply)


class RandomHorizontalFlip(Transform):
    """Flip the last dim with probability ``p``."""

    name: ClassVar[str] = "core.random_hflip"
    config_class: ClassVar[type[RandomHorizontalFlipConfig]] = RandomHorizontalFlipConfig

    def __init__(self, config: RandomHorizontalFlipConfig | None = None) -> None:
        """Args:
        config: The flip probability.

        Raises:
            ConfigError: When ``p`` is outside [0, 1].
        """
        self.config = config or RandomHorizontalFlipConfig()
        if not 0.0 <= self.config.p <= 1.0:
            raise ConfigError(f"random_hflip: p must be in [0, 1], got {self.config.p}")

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        return x.flip(-1) if float(torch.rand(())) < self.config.p else x

    def __call__(self, sample: Any) -> Any:
        """Maybe flip the input tensor."""
        return _on_input(sample, self._apply)
