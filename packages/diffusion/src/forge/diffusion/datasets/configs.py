"""Config classes of forge-diffusion's datasets (no torch import)."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from forge.core.config import field

__all__ = ["DigitsConfig", "Toy2DConfig"]


def _positive(_: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value!r}")


def _non_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value!r}")


def _fraction(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0.0 <= value < 0.5:
        raise ValueError(f"{attribute.name} must lie in [0, 0.5), got {value!r}")


@attrs.frozen
class Toy2DConfig:
    """Generated 2-D point clouds (two moons or a Swiss roll), standardized; samples are ``(point, label)``."""

    kind: Literal["moons", "swiss_roll"] = field(
        "moons", help="'moons' (two interleaved half circles) or 'swiss_roll' (a 2-D spiral)."
    )
    num_train: int = field(8000, help="Training points.", validator=_positive)
    num_val: int = field(1000, help="Validation points.", validator=_positive)
    num_test: int = field(2000, help="Held-out points (sample-quality reference).", validator=_positive)
    noise: float = field(0.05, help="Gaussian noise of the generator (in its own units).", validator=_non_negative)
    seed: int = field(0, help="Generator seed.")


@attrs.frozen
class DigitsConfig:
    """scikit-learn's bundled 8x8 digits scaled to [-1, 1]; samples are ``(Conditioned([image, label]), label)``."""

    val_fraction: float = field(0.1, help="Share of each class kept for validation.", validator=_fraction)
    test_fraction: float = field(0.2, help="Share of each class kept for testing.", validator=_fraction)
    seed: int = field(0, help="Split seed.")
    conditional: bool = field(True, help="Give the model (image, label) inputs; false gives images only.")
