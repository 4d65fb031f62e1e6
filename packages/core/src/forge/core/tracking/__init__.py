"""Experiment tracking: mirror a run's parameters, metrics and artifacts into trackers.

The run directory's ``log.jsonl`` is always the record of a run; trackers are mirrors of it. The
``core.tracking`` callback starts each configured tracker with the run's flattened config, sends
it the new ``log.jsonl`` records after every validation and at the end, then the run's files
(config, environment, lineage; ``metrics.json`` with the test figures is written after training
and stays in the run directory). Built-in trackers
(the ``tracker`` kind, registered through the trackers hook; plugins add their own):
``core.csv`` (``metrics.csv`` in the run directory), ``core.tensorboard`` (event files) and
``core.mlflow`` (any MLflow tracking URI; ``sqlite:///mlflow.db`` keeps a local database).

Importing this package is light (no torch): each name loads on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from forge.core.tracking._base import Tracker as Tracker
    from forge.core.tracking._base import flatten_params as flatten_params
    from forge.core.tracking._callback import TrackingCallback as TrackingCallback
    from forge.core.tracking._trackers import CSVTracker as CSVTracker
    from forge.core.tracking._trackers import MLflowTracker as MLflowTracker
    from forge.core.tracking._trackers import TensorBoardTracker as TensorBoardTracker

__getattr__, __dir__ = lazy_exports(__name__, __file__)
