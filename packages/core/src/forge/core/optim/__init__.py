"""Optimizers (AdamW, SGD, LAMB) and learning-rate schedulers behind one interface.

Importing this package is light; the names below import torch on first access.

- :func:`build_adamw`, :func:`build_sgd`, :func:`build_lamb` return an :class:`OptimizerFactory`
  (``factory(model) -> torch.optim.Optimizer``).
- :func:`build_warmup_cosine`, :func:`build_one_cycle`, :func:`build_step`, :func:`build_plateau`,
  :func:`build_warmup` return a :class:`SchedulerFactory`
  (``factory(optimizer, total_steps) -> ForgeScheduler``); every scheduler is stepped once per
  optimizer step with ``step(metrics=None)``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forge.core.optim.lamb import Lamb
    from forge.core.optim.optimizers import (
        OptimizerFactory,
        build_adamw,
        build_lamb,
        build_sgd,
        parameter_groups,
    )
    from forge.core.optim.schedulers import (
        ForgeScheduler,
        OneCycleScheduler,
        PlateauScheduler,
        SchedulerFactory,
        StepScheduler,
        TorchSchedulerAdapter,
        WarmupCosineScheduler,
        WarmupScheduler,
        build_one_cycle,
        build_plateau,
        build_step,
        build_warmup,
        build_warmup_cosine,
    )

__all__ = [
    "ForgeScheduler",
    "Lamb",
    "OneCycleScheduler",
    "OptimizerFactory",
    "PlateauScheduler",
    "SchedulerFactory",
    "StepScheduler",
    "TorchSchedulerAdapter",
    "WarmupCosineScheduler",
    "WarmupScheduler",
    "build_adamw",
    "build_lamb",
    "build_one_cycle",
    "build_plateau",
    "build_sgd",
    "build_step",
    "build_warmup",
    "build_warmup_cosine",
    "parameter_groups",
]

_HOME = {
    "Lamb": "lamb",
    "OptimizerFactory": "optimizers",
    "build_adamw": "optimizers",
    "build_lamb": "optimizers",
    "build_sgd": "optimizers",
    "parameter_groups": "optimizers",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_HOME.get(name, 'schedulers')}")
    return getattr(module, name)
