"""Config classes of the compression components (no torch import)."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from forge.core.config import field

__all__ = ["DistillConfig", "InitFromConfig", "KDLossConfig", "PruningConfig"]


def _fraction(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{attribute.name}: {value} is not a fraction in [0, 1)")


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name}: {value} must be > 0")


@attrs.define
class PruningConfig:
    """Magnitude pruning on a cubic schedule (Zhu & Gupta, 2017) while the model trains."""

    sparsity: float = field(0.5, help="Final fraction of zero weights in each pruned layer.", validator=_fraction)
    structured: bool = field(False, help="Prune whole output channels (L2 norm) instead of single weights.")
    start_step: int = field(0, help="Optimizer step at which pruning starts.", validator=attrs.validators.ge(0))
    end_step: int = field(
        100, help="Optimizer step at which the final sparsity is reached.", validator=attrs.validators.ge(1)
    )
    every: int = field(10, help="Recompute the masks every N steps.", validator=attrs.validators.ge(1))
    layers: Literal["conv_linear", "linear", "conv"] = field(
        "conv_linear",
        help="Which layers' weights are pruned.",
        validator=attrs.validators.in_(("conv_linear", "linear", "conv")),
    )


@attrs.define
class InitFromConfig:
    """Start a new run from another run's weights (fine-tuning, pruning, a longer schedule)."""

    run_dir: str = field(help="The run directory whose weights initialise the model.")
    which: Literal["best", "last"] = field(
        "best", help="Which checkpoint of that run.", validator=attrs.validators.in_(("best", "last"))
    )
    strict: bool = field(True, help="Require every weight to match by name and shape.")


@attrs.define
class KDLossConfig:
    """Knowledge-distillation loss (Hinton et al., 2015)."""

    temperature: float = field(4.0, help="Softmax temperature of teacher and student logits.", validator=_positive)
    alpha: float = field(
        0.9,
        help="Weight of the distillation term; 1 - alpha weighs the cross-entropy with the labels.",
        validator=attrs.validators.and_(attrs.validators.ge(0.0), attrs.validators.le(1.0)),
    )


@attrs.define
class DistillConfig:
    """A student trained against a frozen teacher run (the ``core.distill`` model)."""

    student: dict[str, Any] = field(help="The student model's section: {name = ..., fields...}.")
    teacher_run: str = field(help="Run directory of the teacher.")
    teacher_which: Literal["best", "last"] = field(
        "best", help="Which checkpoint of the teacher.", validator=attrs.validators.in_(("best", "last"))
    )
    num_classes: int | None = field(None, help="Passed on to the student (filled in from the dataset).")
