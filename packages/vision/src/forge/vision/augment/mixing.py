"""MixUp and CutMix on batches, with soft targets and label smoothing.

Both draw one mixing weight per batch from Beta(alpha, alpha) and pair every sample with another
sample of the same batch (a random permutation), as in the papers and timm's batch mode. Random
numbers come from the ``generator`` passed to the call (CPU), or torch's global generator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

import attrs
import numpy as np
import torch
from torch import Tensor

from forge.core.config import structure, unstructure
from forge.core.data import config_from_args
from forge.core.errors import ConfigError, DataError
from forge.vision.augment.configs import CutMixConfig, MixUpConfig

__all__ = ["CutMix", "MixUp", "build_cutmix", "build_mixup", "smooth_labels", "to_soft_targets"]

C = TypeVar("C", MixUpConfig, CutMixConfig)


def to_soft_targets(targets: Tensor, num_classes: int, *, dtype: torch.dtype = torch.float32) -> Tensor:
    """Turn class indices ``(N,)`` into one-hot rows ``(N, num_classes)``; pass probability rows through.

    Args:
        targets: Integer class indices ``(N,)`` or probabilities ``(N, num_classes)``.
        num_classes: Number of classes.
        dtype: Floating dtype of the result.

    Returns:
        ``(N, num_classes)`` probabilities.

    Raises:
        DataError: if a class index is out of range or the shape does not fit.
    """
    if targets.dim() == 1 and not targets.is_floating_point():
        if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= num_classes):
            raise DataError(
                f"class index out of range [0, {num_classes}): min {int(targets.min())}, max {int(targets.max())}"
            )
        return torch.nn.functional.one_hot(targets.long(), num_classes).to(dtype)
    if targets.dim() == 2 and targets.shape[1] == num_classes:
        return targets.to(dtype)
    raise DataError(
        f"expected class indices (N,) or probabilities (N, {num_classes}), got {targets.dtype} "
        f"of shape {tuple(targets.shape)}"
    )


def smooth_labels(targets: Tensor, num_classes: int, smoothing: float) -> Tensor:
    """Label smoothing: ``(1 - smoothing) * one_hot + smoothing / num_classes``.

    Args:
        targets: Class indices ``(N,)`` or probabilities ``(N, num_classes)``.
        num_classes: Number of classes.
        smoothing: Mass spread uniformly over all classes, in [0, 1).

    Returns:
        ``(N, num_classes)`` probabilities; each row sums to 1 when the input rows do.

    Raises:
        ConfigError: if ``smoothing`` is outside [0, 1).
        DataError: if the targets do not fit ``num_classes``.
    """
    if not 0.0 <= smoothing < 1.0:
        raise ConfigError(f"label smoothing must lie in [0, 1), got {smoothing!r}")
    soft = to_soft_targets(targets, num_classes)
    if smoothing == 0.0:
        return soft
    return soft * (1.0 - smoothing) + smoothing / num_classes


def _beta(alpha: float, generator: torch.Generator | None) -> float:
    # torch's Beta distribution takes no generator; seed numpy from the torch generator instead so
    # one torch seed still fixes every draw.
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return float(np.random.default_rng(seed).beta(alpha, alpha))


class _BatchMixer(Generic[C]):
    name: ClassVar[str]
    config_class: ClassVar[type[Any]]

    def __init__(self, config: C | None = None, /, **params: Any) -> None:
        self.config: C = config_from_args(self.name, self.config_class, config, params)

    def __call__(
        self, images: Tensor, targets: Tensor, *, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Mix a batch.

        Args:
            images: Batch ``(N, C, H, W)`` (or any ``(N, ...)`` for MixUp).
            targets: Class indices ``(N,)`` or probabilities ``(N, num_classes)``.
            generator: CPU generator for the random draws; torch's global one when None.

        Returns:
            ``(mixed_images, soft_targets)`` with soft targets ``(N, num_classes)`` on the images'
            device. A batch left unmixed (probability ``1 - p``) still gets soft targets.

        Raises:
            DataError: if the shapes of images and targets do not fit together.
        """
        if images.dim() < 2 or targets.shape[0] != images.shape[0]:
            raise DataError(
                f"{self.name}: images {tuple(images.shape)} and targets {tuple(targets.shape)} "
                "must share the batch dimension"
            )
        cfg = self.config
        soft = smooth_labels(targets, cfg.num_classes, cfg.label_smoothing).to(images.device)
        if not images.is_floating_point():
            raise DataError(f"{self.name}: expected floating-point images, got {images.dtype}")
        soft = soft.to(images.dtype)
        if float(torch.rand(1, generator=generator)) >= cfg.p or images.shape[0] < 2:
            return images, soft
        lam = _beta(cfg.alpha, generator)
        perm = torch.randperm(images.shape[0], generator=generator).to(images.device)
        mixed, lam = self._mix(images, perm, lam, generator)
        return mixed, lam * soft + (1.0 - lam) * soft[perm]

    def _mix(self, images: Tensor, perm: Tensor, lam: float, generator: torch.Generator | None) -> tuple[Tensor, float]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"name": ..., **config fields}``."""
        data: dict[str, Any] = {"name": self.name}
        data.update(unstructure(self.config))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "") -> Any:
        """Build from :meth:`to_dict` output.

        Raises:
            ConfigError: if the name does not match or a field is invalid.
        """
        if data.get("name", cls.name) != cls.name:
            raise ConfigError(f"{where or cls.name}: expected name {cls.name!r}, got {data.get('name')!r}")
        params = {k: v for k, v in data.items() if k != "name"}
        return cls(structure(params, cls.config_class, where=where or cls.name))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and type(other) is type(self) and other.config == self.config

    def __hash__(self) -> int:
        return hash((type(self), self.config))

    def __repr__(self) -> str:
        fields = ", ".join(f"{a.name}={getattr(self.config, a.name)!r}" for a in attrs.fields(type(self.config)))
        return f"{type(self).__name__}({fields})"


class MixUp(_BatchMixer[MixUpConfig]):
    """MixUp (Zhang et al., 2018): ``x = lam * x + (1 - lam) * x[perm]``, targets mixed alike.

    Example::

        images, soft = MixUp(num_classes=10, alpha=0.2)(images, labels)
    """

    name = "vision.mixup"
    config_class = MixUpConfig

    def _mix(self, images: Tensor, perm: Tensor, lam: float, generator: torch.Generator | None) -> tuple[Tensor, float]:
        return lam * images + (1.0 - lam) * images[perm], lam


class CutMix(_BatchMixer[CutMixConfig]):
    """CutMix (Yun et al., 2019): paste a box of ``x[perm]`` into ``x``; targets mix by the pasted area.

    The box has area about ``(1 - lam)`` of the image and a random centre; where it is clipped by the
    border, the target weight follows the area actually pasted.
    """

    name = "vision.cutmix"
    config_class = CutMixConfig

    def _mix(self, images: Tensor, perm: Tensor, lam: float, generator: torch.Generator | None) -> tuple[Tensor, float]:
        if images.dim() != 4:
            raise DataError(f"{self.name}: expected images (N, C, H, W), got shape {tuple(images.shape)}")
        h, w = images.shape[-2:]
        ratio = (1.0 - lam) ** 0.5
        cut_h, cut_w = int(h * ratio), int(w * ratio)
        cy = int(torch.randint(0, h, (1,), generator=generator))
        cx = int(torch.randint(0, w, (1,), generator=generator))
        top, bottom = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, h)
        left, right = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, w)
        mixed = images.clone()
        mixed[..., top:bottom, left:right] = images[perm][..., top:bottom, left:right]
        return mixed, 1.0 - (bottom - top) * (right - left) / float(h * w)


def build_mixup(config: MixUpConfig) -> MixUp:
    """Registry builder of ``vision.mixup``."""
    return MixUp(config)


def build_cutmix(config: CutMixConfig) -> CutMix:
    """Registry builder of ``vision.cutmix``."""
    return CutMix(config)
