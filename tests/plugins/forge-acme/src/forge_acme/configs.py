"""Config classes of forge-acme: attrs only (no torch), so ``forge info`` can show them cheaply."""

from __future__ import annotations

from typing import Any

import attrs

from forge.core.config import field
from forge.core.errors import ConfigError


def _positive(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ConfigError(f"{attribute.name}: expected a positive number, got {value!r}")


@attrs.frozen
class GatedMLPConfig:
    """Configuration of :func:`forge_acme.models.build_gated_mlp`."""

    in_features: int = field(8, help="Width of the input vectors.", validator=_positive)
    num_classes: int = field(3, help="Number of output classes.", validator=_positive)
    hidden: tuple[int, ...] = field((64,), help="Width of each gated hidden layer.")
    dropout: float = field(0.0, help="Dropout after each hidden layer.")


@attrs.frozen
class HuberConfig:
    """Configuration of :func:`forge_acme.losses.build_huber`."""

    delta: float = field(1.0, help="Where the loss turns from quadratic to linear.", validator=_positive)
    reduction: str = field("mean", help="'mean', 'sum' or 'none'.")
