"""Config classes of core's models (light: no torch import)."""

from __future__ import annotations

from typing import Literal, get_args

import attrs

from forge.core.config import field

__all__ = ["MLPConfig"]

Activation = Literal["relu", "gelu", "silu", "tanh"]


@attrs.frozen
class MLPConfig:
    """A multi-layer perceptron for vectors (flattens any trailing input dimensions)."""

    in_features: int = field(16, help="Input features (product of the input's trailing dimensions).", ge=1)
    num_classes: int = field(4, help="Output width: classes, or regression targets.", ge=1)
    hidden: tuple[int, ...] = field((64, 64), help="Width of each hidden layer (none: a linear model).", ge=1)
    activation: Activation = field("relu", help="Activation between layers.", one_of=get_args(Activation))
    dropout: float = field(0.0, help="Dropout probability after each hidden activation.", ge=0, lt=1)
    norm: bool = field(False, help="LayerNorm before each hidden activation.")
