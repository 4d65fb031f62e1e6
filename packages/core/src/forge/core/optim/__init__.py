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

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core.optim._lamb import Lamb as Lamb
    from forge.core.optim._optimizers import OptimizerFactory as OptimizerFactory
    from forge.core.optim._optimizers import build_adamw as build_adamw
    from forge.core.optim._optimizers import build_lamb as build_lamb
    from forge.core.optim._optimizers import build_sgd as build_sgd
    from forge.core.optim._optimizers import parameter_groups as parameter_groups
    from forge.core.optim._schedulers import ForgeScheduler as ForgeScheduler
    from forge.core.optim._schedulers import OneCycleScheduler as OneCycleScheduler
    from forge.core.optim._schedulers import PlateauScheduler as PlateauScheduler
    from forge.core.optim._schedulers import SchedulerFactory as SchedulerFactory
    from forge.core.optim._schedulers import StepScheduler as StepScheduler
    from forge.core.optim._schedulers import TorchSchedulerAdapter as TorchSchedulerAdapter
    from forge.core.optim._schedulers import WarmupCosineScheduler as WarmupCosineScheduler
    from forge.core.optim._schedulers import WarmupScheduler as WarmupScheduler
    from forge.core.optim._schedulers import build_one_cycle as build_one_cycle
    from forge.core.optim._schedulers import build_plateau as build_plateau
    from forge.core.optim._schedulers import build_step as build_step
    from forge.core.optim._schedulers import build_warmup as build_warmup
    from forge.core.optim._schedulers import build_warmup_cosine as build_warmup_cosine

__getattr__, __dir__ = lazy_exports(__name__, __file__)
