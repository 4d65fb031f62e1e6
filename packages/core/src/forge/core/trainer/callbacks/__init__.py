"""The built-in callbacks: each built-in trainer feature is an ordinary callback."""

from forge.core.trainer.callbacks._checkpointing import CheckpointCallback
from forge.core.trainer.callbacks._defaults import default_callbacks
from forge.core.trainer.callbacks._early_stopping import EarlyStopping
from forge.core.trainer.callbacks._ema import EMACallback
from forge.core.trainer.callbacks._lr_monitor import LearningRateMonitor
from forge.core.trainer.callbacks._profiler import ProfilerCallback
from forge.core.trainer.callbacks._progress import ProgressCallback

__all__ = [
    "CheckpointCallback",
    "EMACallback",
    "EarlyStopping",
    "LearningRateMonitor",
    "ProfilerCallback",
    "ProgressCallback",
    "default_callbacks",
]
