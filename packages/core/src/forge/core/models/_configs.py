"""Config classes of core's models (light: no torch import)."""

from __future__ import annotations

from typing import Literal

import attrs

from forge.core.config import field

__all__ = ["MLPConfig"]


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be >= 1, got {value}")


def _widths(_: object, attribute: attrs.Attribute[tuple[int, ...]], value: tuple[int, ...]) -> None:
    if any(w < 1 for w in value):
        raise ValueError(f"{attribute.name}: every width must be >= 1, got {list(value)}")


def _dropout(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{attribute.name} must be in [0, 1), got {value}")


@attrs.frozen
class MLPConfig:
    """A multi-layer perceptron for vectors (flattens any trailing input dimensions)."""

    in_features: int = field(
        16, help="Input features (product of the input's trailing dimensions).", validator=_positive
    )
    num_classes: int = field(4, help="Output width: classes, or regression targets.", validator=_positive)
    hidden: tuple[int, ...] = field((64, 64), help="Width of each hidden layer.", validator=_widths)
    activation: Literal["relu", "gelu", "silu", "tanh"] = field("relu", help="Activation between layers.")
    dropout: float = field(0.0, help="Dropout probability after each hidden activation.", validator=_dropout)
    norm: bool = field(False, help="LayerNorm before each hidden activation.")
