"""Config classes of forge-core's metrics (no torch import: listing stays light).

Classification metrics share ``task`` (``binary``, ``multiclass``, ``multilabel``),
``num_classes`` (multiclass), ``num_labels`` (multilabel), ``average`` and ``ignore_index``; their
meaning is torchmetrics' own. Predictions may be logits or probabilities, targets class indices
(multiclass) or 0/1 (binary, multilabel).
"""

from __future__ import annotations

from typing import Literal

import attrs

from forge.core.config import field

__all__ = [
    "AUROCConfig",
    "AccuracyConfig",
    "AveragePrecisionConfig",
    "CalibrationErrorConfig",
    "F1Config",
    "MAEConfig",
    "MSEConfig",
    "PerplexityConfig",
]

Task = Literal["binary", "multiclass", "multilabel"]
Average = Literal["micro", "macro", "weighted", "none"]
_TASKS = ("binary", "multiclass", "multilabel")
_AVERAGES = ("micro", "macro", "weighted", "none")
_SYNC_HELP = "Gather state across processes before compute() (torchmetrics' own sync)."


def _check_task(task: str, num_classes: int | None, num_labels: int | None) -> None:
    if task == "multiclass" and num_classes is None:
        raise ValueError("task 'multiclass' needs num_classes")
    if task == "multilabel" and num_labels is None:
        raise ValueError("task 'multilabel' needs num_labels")


@attrs.frozen
class AccuracyConfig:
    """Accuracy (micro-averaged by default: correct / total)."""

    task: Task = field("multiclass", help="'binary', 'multiclass' or 'multilabel'.", one_of=_TASKS)
    num_classes: int | None = field(None, help="Number of classes (multiclass).", ge=2)
    num_labels: int | None = field(None, help="Number of labels (multilabel).", ge=1)
    average: Average = field("micro", help="'micro', 'macro', 'weighted' or 'none' (per class).", one_of=_AVERAGES)
    threshold: float = field(0.5, help="Probability threshold for binary and multilabel predictions.", ge=0, le=1)
    top_k: int = field(1, help="Multiclass: correct if the target is among the k highest scores.", ge=1)
    ignore_index: int | None = field(None, help="Target value left out of the metric.")
    sync_on_compute: bool = field(True, help=_SYNC_HELP)

    def __attrs_post_init__(self) -> None:
        _check_task(self.task, self.num_classes, self.num_labels)


@attrs.frozen
class F1Config:
    """F1 score (harmonic mean of precision and recall); macro-averaged by default."""

    task: Task = field("multiclass", help="'binary', 'multiclass' or 'multilabel'.", one_of=_TASKS)
    num_classes: int | None = field(None, help="Number of classes (multiclass).", ge=2)
    num_labels: int | None = field(None, help="Number of labels (multilabel).", ge=1)
    average: Average = field("macro", help="'micro', 'macro', 'weighted' or 'none' (per class).", one_of=_AVERAGES)
    threshold: float = field(0.5, help="Probability threshold for binary and multilabel predictions.", ge=0, le=1)
    ignore_index: int | None = field(None, help="Target value left out of the metric.")
    sync_on_compute: bool = field(True, help=_SYNC_HELP)

    def __attrs_post_init__(self) -> None:
        _check_task(self.task, self.num_classes, self.num_labels)


@attrs.frozen
class AUROCConfig:
    """Area under the ROC curve, computed exactly on every accumulated score."""

    task: Task = field("binary", help="'binary', 'multiclass' (one-vs-rest) or 'multilabel'.", one_of=_TASKS)
    num_classes: int | None = field(None, help="Number of classes (multiclass).", ge=2)
    num_labels: int | None = field(None, help="Number of labels (multilabel).", ge=1)
    average: Literal["micro", "macro", "weighted", "none"] = field(
        "macro", help="How per-class areas combine ('micro' for multilabel only).", one_of=_AVERAGES
    )
    max_fpr: float | None = field(None, help="Binary: partial AUC up to this false-positive rate.", gt=0, le=1)
    ignore_index: int | None = field(None, help="Target value left out of the metric.")
    sync_on_compute: bool = field(True, help=_SYNC_HELP)

    def __attrs_post_init__(self) -> None:
        _check_task(self.task, self.num_classes, self.num_labels)


@attrs.frozen
class AveragePrecisionConfig:
    """Average precision (area under the precision-recall curve, step-wise as scikit-learn)."""

    task: Task = field("binary", help="'binary', 'multiclass' (one-vs-rest) or 'multilabel'.", one_of=_TASKS)
    num_classes: int | None = field(None, help="Number of classes (multiclass).", ge=2)
    num_labels: int | None = field(None, help="Number of labels (multilabel).", ge=1)
    average: Average = field("macro", help="How per-class values combine.", one_of=_AVERAGES)
    ignore_index: int | None = field(None, help="Target value left out of the metric.")
    sync_on_compute: bool = field(True, help=_SYNC_HELP)

    def __attrs_post_init__(self) -> None:
        _check_task(self.task, self.num_classes, self.num_labels)


@attrs.frozen
class CalibrationErrorConfig:
    """Calibration error (ECE with norm 'l1', MCE with 'max', RMSCE with 'l2') over confidence bins."""

    task: Literal["binary", "multiclass"] = field(
        "multiclass", help="'binary' or 'multiclass'.", one_of=("binary", "multiclass")
    )
    num_classes: int | None = field(None, help="Number of classes (multiclass).", ge=2)
    n_bins: int = field(15, help="Number of equal-width confidence bins.", ge=1)
    norm: Literal["l1", "l2", "max"] = field(
        "l1", help="'l1' (ECE), 'l2' (RMSCE) or 'max' (MCE).", one_of=("l1", "l2", "max")
    )
    ignore_index: int | None = field(None, help="Target value left out of the metric.")
    sync_on_compute: bool = field(True, help=_SYNC_HELP)

    def __attrs_post_init__(self) -> None:
        _check_task(self.task, self.num_classes, None)


@attrs.frozen
class MSEConfig:
    """Mean squared error (or its root)."""

    squared: bool = field(True, help="False gives the root mean squared error.")
    sync_on_compute: bool = field(True, help=_SYNC_HELP)


@attrs.frozen
class MAEConfig:
    """Mean absolute error."""

    sync_on_compute: bool = field(True, help=_SYNC_HELP)


@attrs.frozen
class PerplexityConfig:
    """Perplexity of a language model: exp of the mean token negative log-likelihood."""

    ignore_index: int | None = field(None, help="Target token (e.g. padding) left out of the metric.")
    sync_on_compute: bool = field(True, help=_SYNC_HELP)
