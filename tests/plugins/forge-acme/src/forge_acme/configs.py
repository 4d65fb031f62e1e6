"""Config classes of forge-acme: attrs only (no torch), so ``forge info`` can show them cheaply."""

from __future__ import annotations

import attrs

from forge.core.config import field


@attrs.frozen
class GatedMLPConfig:
    """Configuration of :func:`forge_acme.models.build_gated_mlp`."""

    in_features: int = field(8, help="Width of the input vectors.", ge=1)
    num_classes: int = field(3, help="Number of output classes.", ge=1)
    hidden: tuple[int, ...] = field((64,), help="Width of each gated hidden layer.", ge=1)
    dropout: float = field(0.0, help="Dropout after each hidden layer.", ge=0, lt=1)


@attrs.frozen
class HuberConfig:
    """Configuration of :func:`forge_acme.losses.build_huber`."""

    delta: float = field(1.0, help="Where the loss turns from quadratic to linear.", gt=0)
    reduction: str = field("mean", help="'mean', 'sum' or 'none'.", one_of=("mean", "sum", "none"))
