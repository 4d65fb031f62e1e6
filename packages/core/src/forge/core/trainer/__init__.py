"""The training engine: :class:`Trainer`, its config, callbacks and finders.

Names are imported lazily, so ``forge.core.trainer.config``, ``.catalog`` and ``.events`` can be
imported (by ``forge list``/``forge info``) without importing torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Callback",
    "CheckpointCallback",
    "CheckpointConfig",
    "EMACallback",
    "EMAConfig",
    "EarlyStopping",
    "EarlyStoppingConfig",
    "FitResult",
    "LearningRateMonitor",
    "LRFinderResult",
    "NonFiniteError",
    "ProfilerCallback",
    "ProfilerConfig",
    "ProgressCallback",
    "Trainer",
    "TrainerConfig",
    "callback_hook",
    "find_batch_size",
    "find_lr",
]

_WHERE = {
    "Callback": "events",
    "callback_hook": "events",
    "CheckpointCallback": "callbacks",
    "EMACallback": "callbacks",
    "EarlyStopping": "callbacks",
    "LearningRateMonitor": "callbacks",
    "ProfilerCallback": "callbacks",
    "ProgressCallback": "callbacks",
    "CheckpointConfig": "config",
    "EMAConfig": "config",
    "EarlyStoppingConfig": "config",
    "ProfilerConfig": "config",
    "TrainerConfig": "config",
    "FitResult": "trainer",
    "NonFiniteError": "trainer",
    "Trainer": "trainer",
    "LRFinderResult": "finders",
    "find_batch_size": "finders",
    "find_lr": "finders",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'forge.core.trainer' has no attribute {name!r}")
    return getattr(importlib.import_module(f"forge.core.trainer.{module}"), name)
