"""Confidence intervals for evaluation metrics.

- :func:`wilson_interval`: the Wilson score interval for a proportion (accuracy, recall...),
  well behaved near 0 and 1 and for small samples, unlike the normal approximation.
- :func:`bootstrap_interval`: the percentile bootstrap for any metric of (predictions, targets),
  resampling examples with replacement under a seed, so the same call gives the same interval.

Neither needs torch or scipy; arrays may be numpy arrays, lists or CPU tensors.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from forge.core.errors import ConfigError, DataError

__all__ = ["ConfidenceInterval", "bootstrap_interval", "wilson_interval"]


@attrs.frozen
class ConfidenceInterval:
    """A point estimate with a two-sided confidence interval.

    Attributes:
        estimate: The metric on the full data.
        lower: Lower bound.
        upper: Upper bound.
        confidence: The confidence level, e.g. 0.95.
        method: ``"wilson"`` or ``"percentile_bootstrap"``.
        num_resamples: Bootstrap resamples that gave a finite value (0 for Wilson).
        seed: The bootstrap seed (``None`` for Wilson).
    """

    estimate: float
    lower: float
    upper: float
    confidence: float
    method: str
    num_resamples: int = 0
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The interval as a JSON-able dict."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConfidenceInterval:
        """Rebuild an interval from :meth:`to_dict`'s output."""
        return cls(**data)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}")


def wilson_interval(successes: int, total: int, *, confidence: float = 0.95) -> ConfidenceInterval:
    """The Wilson score interval for the proportion ``successes / total``.

    Args:
        successes: Number of successes (e.g. correct predictions).
        total: Number of trials (> 0).
        confidence: Two-sided confidence level.

    Returns:
        The interval; its estimate is ``successes / total``.

    Raises:
        ConfigError: ``confidence`` outside (0, 1).
        DataError: ``total`` <= 0 or ``successes`` outside ``[0, total]``.

    Example::

        wilson_interval(87, 100).lower   # 0.7906...
    """
    _check_confidence(confidence)
    if total <= 0:
        raise DataError(f"wilson_interval needs total > 0, got {total}")
    if not 0 <= successes <= total:
        raise DataError(f"successes must be in [0, {total}], got {successes}")
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2.0)
    p = successes / total
    denom = 1.0 + z * z / total
    centre = (p + z * z / (2.0 * total)) / denom
    half = z * math.sqrt(p * (1.0 - p) / total + z * z / (4.0 * total * total)) / denom
    return ConfidenceInterval(
        estimate=p,
        # At 0 or all successes the bound is exactly 0 or 1; rounding would leave 1e-17.
        lower=0.0 if successes == 0 else max(0.0, centre - half),
        upper=1.0 if successes == total else min(1.0, centre + half),
        confidence=confidence,
        method="wilson",
    )


def _to_numpy(x: Any) -> np.ndarray[Any, Any]:
    if hasattr(x, "detach"):  # a torch tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def bootstrap_interval(
    metric: Callable[[np.ndarray[Any, Any], np.ndarray[Any, Any]], float],
    predictions: Any,
    targets: Any,
    *,
    num_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    min_valid_fraction: float = 0.9,
) -> ConfidenceInterval:
    """The percentile-bootstrap interval of ``metric(predictions, targets)``.

    Examples (rows along the first axis) are resampled with replacement ``num_resamples`` times
    with ``numpy.random.default_rng(seed)``; the interval is the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of the resampled values. Resamples where the metric is
    undefined (it raises ``ValueError`` or returns a non-finite value, e.g. AUROC on a resample
    with one class) are skipped.

    Args:
        metric: Maps (predictions, targets) numpy arrays to a float, e.g.
            ``sklearn.metrics.roc_auc_score`` with arguments swapped as needed.
        predictions: Predictions, first axis = examples.
        targets: Targets, same length.
        num_resamples: Bootstrap resamples (>= 1).
        confidence: Two-sided confidence level.
        seed: Seed of the resampling.
        min_valid_fraction: Fewer valid resamples than this fraction raise.

    Returns:
        The interval; its estimate is the metric on the full data.

    Raises:
        ConfigError: Bad ``confidence`` or ``num_resamples``.
        DataError: Empty or mismatched data, an undefined metric on the full data, or too many
            undefined resamples.
    """
    _check_confidence(confidence)
    if num_resamples < 1:
        raise ConfigError(f"num_resamples must be >= 1, got {num_resamples}")
    preds, tgts = _to_numpy(predictions), _to_numpy(targets)
    n = len(preds)
    if n == 0 or len(tgts) != n:
        raise DataError(f"bootstrap needs equal, non-zero numbers of predictions and targets, got {n} and {len(tgts)}")
    try:
        estimate = float(metric(preds, tgts))
    except ValueError as exc:
        raise DataError(f"the metric is undefined on the full data: {exc}") from exc
    if not math.isfinite(estimate):
        raise DataError(f"the metric is not finite on the full data ({estimate})")
    rng = np.random.default_rng(seed)
    values: list[float] = []
    for _ in range(num_resamples):
        idx = rng.integers(0, n, size=n)
        try:
            value = float(metric(preds[idx], tgts[idx]))
        except ValueError:
            continue
        if math.isfinite(value):
            values.append(value)
    if len(values) < max(1, math.ceil(min_valid_fraction * num_resamples)):
        raise DataError(
            f"the metric was undefined on {num_resamples - len(values)} of {num_resamples} resamples; "
            "use more data or a metric defined on every resample"
        )
    alpha = (1.0 - confidence) / 2.0
    lower, upper = np.quantile(np.asarray(values), [alpha, 1.0 - alpha])
    return ConfidenceInterval(
        estimate=estimate,
        lower=float(lower),
        upper=float(upper),
        confidence=confidence,
        method="percentile_bootstrap",
        num_resamples=len(values),
        seed=seed,
    )
