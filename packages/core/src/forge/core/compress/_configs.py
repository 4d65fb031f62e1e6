"""Config classes of the compression components (no torch import)."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from forge.core.config import field

__all__ = ["DistillConfig", "DynamicInt8Config", "InitFromConfig", "KDLossConfig", "PruningConfig", "QATConfig"]


@attrs.define
class PruningConfig:
    """Magnitude pruning on a cubic schedule (Zhu & Gupta, 2017) while the model trains."""

    sparsity: float = field(0.5, help="Final fraction of zero weights in each pruned layer.", lt=1, ge=0)
    structured: bool = field(False, help="Prune whole output channels (L2 norm) instead of single weights.")
    start_step: int = field(0, help="Optimizer step at which pruning starts.", ge=0)
    end_step: int = field(100, help="Optimizer step at which the final sparsity is reached.", ge=1)
    every: int = field(10, help="Recompute the masks every N steps.", ge=1)
    layers: Literal["conv_linear", "linear", "conv"] = field(
        "conv_linear",
        help="Which layers' weights are pruned.",
        one_of=("conv_linear", "linear", "conv"),
    )


@attrs.define
class DynamicInt8Config:
    """Options of the ``dynamic_int8`` compression method (post-training, linear layers)."""

    backend: Literal["auto", "pt2e", "torchao"] = field(
        "auto",
        help=(
            "pt2e: torch.export capture + torchao's x86 Inductor quantizer (oneDNN qlinear kernels once "
            "compiled with freezing; faster on x86); torchao: Int8DynamicActivationInt8WeightConfig tensor "
            "subclasses (no capture needed); auto: pt2e."
        ),
        one_of=("auto", "pt2e", "torchao"),
    )


@attrs.define
class QATConfig:
    """Quantization-aware training: int8 fake quantization of the linear layers while the model trains.

    Activations are fake-quantized to int8 per token (asymmetric, scales chosen at run time) and
    weights to int8 per output channel (symmetric), the numerics of the converted int8 model.
    """

    start_step: int = field(
        0,
        help="Optimizer step from which the fake quantization is on (steps before it train in float).",
        ge=0,
    )


@attrs.define
class InitFromConfig:
    """Start a new run from another run's weights (fine-tuning, pruning, a longer schedule)."""

    run_dir: str = field(help="The run directory whose weights initialise the model.", non_empty=True)
    which: Literal["best", "last"] = field("best", help="Which checkpoint of that run.", one_of=("best", "last"))
    strict: bool = field(True, help="Require every weight to match by name and shape.")


@attrs.define
class KDLossConfig:
    """Knowledge-distillation loss (Hinton et al., 2015)."""

    temperature: float = field(4.0, help="Softmax temperature of teacher and student logits.", gt=0)
    alpha: float = field(
        0.9,
        help="Weight of the distillation term; 1 - alpha weighs the cross-entropy with the labels.",
        ge=0,
        le=1,
    )


@attrs.define
class DistillConfig:
    """A student trained against a frozen teacher run (the ``core.distill`` model)."""

    student: dict[str, Any] = field(help="The student model's section: {name = ..., fields...}.")
    teacher_run: str = field(help="Run directory of the teacher.", non_empty=True)
    teacher_which: Literal["best", "last"] = field(
        "best", help="Which checkpoint of the teacher.", one_of=("best", "last")
    )
    num_classes: int | None = field(None, help="Passed on to the student (filled in from the dataset).", ge=1)
