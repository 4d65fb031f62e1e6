"""Registrations of forge-core's optimizers and schedulers (light: imports no torch).

Core's plugin module calls :func:`register_optimizers` and :func:`register_schedulers` from its
hooks; the names become ``core.adamw``, ``core.warmup_cosine`` and so on.
"""

from __future__ import annotations

from forge.core.hookspecs import Register

__all__ = ["register_optimizers", "register_schedulers"]

_OPT = "forge.core.optim._optimizers"
_SCHED = "forge.core.optim._schedulers"
_CFG = "forge.core.optim._configs"


def register_optimizers(register: Register) -> None:
    """Register adamw, sgd and lamb. Each builder returns ``factory(model) -> Optimizer``.

    Args:
        register: The registration callback the optimizers hook receives.
    """
    register(
        "adamw",
        builder=f"{_OPT}:build_adamw",
        config=f"{_CFG}:AdamWConfig",
        summary="AdamW, fused on CUDA; no weight decay on biases and norm weights",
        tags=("adaptive",),
    )
    register(
        "sgd",
        builder=f"{_OPT}:build_sgd",
        config=f"{_CFG}:SGDConfig",
        summary="SGD with (Nesterov) momentum, fused on CUDA",
        tags=("momentum",),
    )
    register(
        "lamb",
        builder=f"{_OPT}:build_lamb",
        config=f"{_CFG}:LambConfig",
        summary="LAMB: Adam moments with a layer-wise trust ratio, for large batches",
        tags=("adaptive", "large-batch"),
    )


def register_schedulers(register: Register) -> None:
    """Register warmup_cosine, one_cycle, step, plateau and warmup.

    Each builder returns ``factory(optimizer, total_steps) -> ForgeScheduler``.

    Args:
        register: The registration callback the schedulers hook receives.
    """
    register(
        "warmup_cosine",
        builder=f"{_SCHED}:build_warmup_cosine",
        config=f"{_CFG}:WarmupCosineConfig",
        summary="Linear warmup, then cosine annealing with optional warm restarts (SGDR)",
        tags=("time-based",),
    )
    register(
        "one_cycle",
        builder=f"{_SCHED}:build_one_cycle",
        config=f"{_CFG}:OneCycleConfig",
        summary="One-cycle policy with inverse momentum cycling",
        tags=("time-based",),
    )
    register(
        "step",
        builder=f"{_SCHED}:build_step",
        config=f"{_CFG}:StepConfig",
        summary="Decay by gamma every step_size optimizer steps or at milestones",
        tags=("time-based",),
    )
    register(
        "plateau",
        builder=f"{_SCHED}:build_plateau",
        config=f"{_CFG}:PlateauConfig",
        summary="Reduce the learning rate when a validation metric plateaus",
        tags=("metric-driven",),
    )
    register(
        "warmup",
        builder=f"{_SCHED}:build_warmup",
        config=f"{_CFG}:WarmupConfig",
        summary="Linear warmup in front of any registered scheduler",
        tags=("wrapper",),
    )
