"""Config classes of forge-diffusion's datasets (no torch import)."""

from __future__ import annotations

from typing import Literal

import attrs

from forge.core.config import field

__all__ = ["DigitsConfig", "Toy2DConfig"]


@attrs.frozen
class Toy2DConfig:
    """Generated 2-D point clouds (two moons or a Swiss roll), standardized; samples are ``(point, label)``."""

    kind: Literal["moons", "swiss_roll"] = field(
        "moons",
        help="'moons' (two interleaved half circles) or 'swiss_roll' (a 2-D spiral).",
        one_of=("moons", "swiss_roll"),
    )
    num_train: int = field(8000, help="Training points.", ge=1)
    num_val: int = field(1000, help="Validation points.", ge=1)
    num_test: int = field(2000, help="Held-out points (sample-quality reference).", ge=1)
    noise: float = field(0.05, help="Gaussian noise of the generator (in its own units).", ge=0)
    seed: int = field(0, help="Generator seed.", ge=0)


@attrs.frozen
class DigitsConfig:
    """scikit-learn's bundled 8x8 digits scaled to [-1, 1]; samples are ``(Conditioned([image, label]), label)``."""

    val_fraction: float = field(0.1, help="Share of each class kept for validation.", ge=0, lt=0.5)
    test_fraction: float = field(0.2, help="Share of each class kept for testing.", ge=0, lt=0.5)
    seed: int = field(0, help="Split seed.", ge=0)
    conditional: bool = field(True, help="Give the model (image, label) inputs; false gives images only.")
