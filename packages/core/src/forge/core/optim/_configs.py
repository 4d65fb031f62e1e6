"""Config classes of forge-core's optimizers and schedulers (no torch import: listing stays light).

Every optimizer config has ``no_decay_bias_and_norm``: when true (the default), biases and the
weights of normalization layers go to a parameter group without weight decay. Every scheduler
steps once per optimizer step; step counts (``warmup_steps``, ``step_size``...) are optimizer
steps, not epochs and not micro-batches.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from forge.core.config import field

__all__ = [
    "AdamWConfig",
    "LambConfig",
    "OneCycleConfig",
    "PlateauConfig",
    "SGDConfig",
    "StepConfig",
    "WarmupConfig",
    "WarmupCosineConfig",
]

Implementation = Literal["auto", "fused", "foreach", "for_loop"]
_IMPLEMENTATIONS = ("auto", "fused", "foreach", "for_loop")


def _pair(_: object, attribute: attrs.Attribute[tuple[float, float]], value: tuple[float, float]) -> None:
    # A config file gives a list (its length is checked when it is read); Python code may pass any tuple.
    if len(value) != 2:
        raise ValueError(f"{attribute.name} must be two numbers (beta1, beta2), got {list(value)!r}")


@attrs.frozen(kw_only=True)
class _OptimizerConfig:
    """The fields every forge optimizer has beside its torch optimizer's own arguments."""

    no_decay_bias_and_norm: bool = field(
        True, help="Put biases and normalization weights in a group without weight decay."
    )


@attrs.frozen(kw_only=True)
class _KernelChoiceConfig(_OptimizerConfig):
    """An optimizer with torch's fused / foreach / for-loop implementations to choose from."""

    implementation: Implementation = field(
        "auto",
        help="'auto' (fused when every parameter is on CUDA and torch supports it, else foreach), "
        "'fused', 'foreach' or 'for_loop'.",
        one_of=_IMPLEMENTATIONS,
    )


@attrs.frozen
class AdamWConfig(_KernelChoiceConfig):
    """AdamW (decoupled weight decay); fused kernels on CUDA where torch has them."""

    lr: float = field(1e-3, help="Peak learning rate.", gt=0)
    betas: tuple[float, float] = field((0.9, 0.999), help="Adam's (beta1, beta2).", validator=_pair, ge=0, lt=1)
    eps: float = field(1e-8, help="Term added to the denominator for numerical stability.", gt=0)
    weight_decay: float = field(0.01, help="Decoupled weight decay.", ge=0)
    amsgrad: bool = field(False, help="Use the AMSGrad variant.")


@attrs.frozen
class SGDConfig(_KernelChoiceConfig):
    """Stochastic gradient descent with (Nesterov) momentum."""

    lr: float = field(0.1, help="Peak learning rate.", gt=0)
    momentum: float = field(0.9, help="Momentum factor (0 disables momentum).", ge=0)
    nesterov: bool = field(False, help="Use Nesterov momentum (needs momentum > 0 and dampening 0).")
    dampening: float = field(0.0, help="Dampening for momentum (the gradient is scaled by 1 - dampening).", ge=0, le=1)
    weight_decay: float = field(0.0, help="L2 penalty added to the gradient.", ge=0)

    def __attrs_post_init__(self) -> None:
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov needs momentum > 0 and dampening == 0")


@attrs.frozen
class LambConfig(_OptimizerConfig):
    """LAMB: Adam moments with a layer-wise trust ratio ||w|| / ||update|| (You et al., 2019)."""

    lr: float = field(1e-3, help="Peak learning rate.", gt=0)
    betas: tuple[float, float] = field((0.9, 0.999), help="Adam's (beta1, beta2).", validator=_pair, ge=0, lt=1)
    eps: float = field(1e-6, help="Term added to the denominator for numerical stability.", gt=0)
    weight_decay: float = field(0.01, help="Decoupled weight decay, part of the update the trust ratio scales.", ge=0)
    bias_correction: bool = field(True, help="Apply Adam's bias correction to the moments.")
    trust_clip: float | None = field(None, help="Upper bound on the trust ratio (None: unbounded).", gt=0)


@attrs.frozen
class WarmupCosineConfig:
    """Linear warmup, then cosine annealing, with optional warm restarts (SGDR)."""

    warmup_steps: int = field(0, help="Optimizer steps of linear warmup.", ge=0)
    warmup_start_factor: float = field(
        0.0, help="Fraction of the peak learning rate at step 0 of the warmup.", ge=0, le=1
    )
    cycle_steps: int | None = field(
        None,
        help="T_0: length of the first cosine cycle in optimizer steps (None: one cycle over the rest of training).",
        gt=0,
    )
    cycle_mult: float = field(1.0, help="T_mult: each cycle is this many times longer than the last.", ge=1)
    cycle_decay: float = field(1.0, help="Each restart's peak is this fraction of the previous peak.", gt=0, le=1)
    min_lr: float = field(0.0, help="Learning rate at the bottom of every cycle.", ge=0)


@attrs.frozen
class OneCycleConfig:
    """One-cycle policy (Smith & Topin): warm up to max_lr, then anneal far below the start."""

    max_lr: float | None = field(None, help="Peak learning rate (None: the optimizer's lr).", gt=0)
    pct_start: float = field(0.3, help="Fraction of the steps spent increasing the learning rate.", gt=0, lt=1)
    div_factor: float = field(25.0, help="Initial lr = max_lr / div_factor.", gt=0)
    final_div_factor: float = field(1e4, help="Final lr = initial lr / final_div_factor.", gt=0)
    anneal: Literal["cos", "linear"] = field(
        "cos", help="Annealing shape: 'cos' or 'linear'.", one_of=("cos", "linear")
    )
    cycle_momentum: bool = field(
        True, help="Cycle momentum (SGD momentum or Adam beta1) inversely to the learning rate."
    )
    # Below 1: it is SGD's momentum or Adam's beta1, which diverge (or never move) at 1.
    base_momentum: float = field(0.85, help="Lowest momentum (reached at the peak lr).", ge=0, lt=1)
    max_momentum: float = field(0.95, help="Highest momentum (at the start and end).", ge=0, lt=1)


@attrs.frozen
class StepConfig:
    """Multiply the learning rate by gamma every step_size optimizer steps (or at milestones)."""

    step_size: int = field(1000, help="Optimizer steps between decays.", gt=0)
    gamma: float = field(0.1, help="Multiplicative decay factor.", gt=0)
    milestones: tuple[int, ...] | None = field(
        None, help="Decay at these optimizer steps instead of every step_size steps.", non_empty=True, ge=1
    )


@attrs.frozen
class PlateauConfig:
    """Reduce the learning rate when a monitored validation metric stops improving."""

    monitor: str = field("val/loss", help="The logged metric to watch.", non_empty=True)
    mode: Literal["min", "max"] = field(
        "min", help="'min' if lower is better, 'max' if higher is.", one_of=("min", "max")
    )
    factor: float = field(0.1, help="Multiply the lr by this when the metric plateaus.", gt=0, lt=1)
    patience: int = field(10, help="Evaluations without improvement before reducing.", ge=0)
    threshold: float = field(1e-4, help="Minimum change that counts as an improvement.", ge=0)
    threshold_mode: Literal["rel", "abs"] = field(
        "rel", help="'rel': relative threshold; 'abs': absolute.", one_of=("rel", "abs")
    )
    cooldown: int = field(0, help="Evaluations to wait after a reduction before counting again.", ge=0)
    min_lr: float = field(0.0, help="Lower bound on the learning rate.", ge=0)


@attrs.frozen
class WarmupConfig:
    """Linear warmup in front of any registered scheduler."""

    scheduler: str = field(help="The wrapped scheduler's registered name, e.g. 'core.step'.", non_empty=True)
    warmup_steps: int = field(help="Optimizer steps of linear warmup.", ge=0)
    start_factor: float = field(0.0, help="Fraction of the learning rate at step 0 of the warmup.", ge=0, le=1)
    options: dict[str, Any] = field(factory=dict, help="Config overrides for the wrapped scheduler.")
