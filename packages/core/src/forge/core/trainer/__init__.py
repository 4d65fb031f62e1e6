"""The training engine: :class:`Trainer`, its config, callbacks and finders.

Names are imported lazily, so ``forge.core.trainer._config``, ``.catalog`` and ``.events`` can be
imported (by ``forge list``/``forge info``) without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core.trainer._config import CheckpointConfig as CheckpointConfig
    from forge.core.trainer._config import EarlyStoppingConfig as EarlyStoppingConfig
    from forge.core.trainer._config import EMAConfig as EMAConfig
    from forge.core.trainer._config import ProfilerConfig as ProfilerConfig
    from forge.core.trainer._config import TrainerConfig as TrainerConfig
    from forge.core.trainer._events import Callback as Callback
    from forge.core.trainer._events import callback_hook as callback_hook
    from forge.core.trainer._finders import LRFinderResult as LRFinderResult
    from forge.core.trainer._finders import find_batch_size as find_batch_size
    from forge.core.trainer._finders import find_lr as find_lr
    from forge.core.trainer._protocol import TrainerView as TrainerView
    from forge.core.trainer._trainer import FitResult as FitResult
    from forge.core.trainer._trainer import NonFiniteError as NonFiniteError
    from forge.core.trainer._trainer import Trainer as Trainer
    from forge.core.trainer._trainer import TrainingInterrupted as TrainingInterrupted
    from forge.core.trainer.callbacks import CheckpointCallback as CheckpointCallback
    from forge.core.trainer.callbacks import EarlyStopping as EarlyStopping
    from forge.core.trainer.callbacks import EMACallback as EMACallback
    from forge.core.trainer.callbacks import LearningRateMonitor as LearningRateMonitor
    from forge.core.trainer.callbacks import ProfilerCallback as ProfilerCallback
    from forge.core.trainer.callbacks import ProgressCallback as ProgressCallback

__getattr__, __dir__ = lazy_exports(__name__, __file__)
