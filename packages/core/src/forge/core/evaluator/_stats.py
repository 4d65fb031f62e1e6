"""Resampling statistics: BCa bootstrap intervals, paired comparisons between two models, effect sizes.

Everything takes per-example arrays (numpy, lists or CPU tensors) and a seed, so the same call
always gives the same numbers.

- :func:`bca_interval`: bias-corrected and accelerated bootstrap (Efron, 1987) for any statistic
  of one sample; the acceleration comes from the jackknife.
- :func:`paired_bootstrap`: the difference of a metric between two models scored on the same
  examples, with a percentile interval and a two-sided bootstrap p-value.
- :func:`permutation_test`: paired sign-flip (swap) permutation test of the same difference.
- :func:`mcnemar_test`: McNemar's exact test for two classifiers' per-example correctness.
- :func:`paired_effect_size`: Cohen's d_z of paired differences with a bootstrap interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import attrs
import numpy as np

from forge.core.errors import ConfigError, DataError

__all__ = [
    "PairedComparison",
    "bca_interval",
    "mcnemar_test",
    "paired_bootstrap",
    "paired_effect_size",
    "permutation_test",
]

Array = np.ndarray[Any, Any]
Statistic = Callable[[Array], float]


def _array(x: Any, name: str) -> Array:
    a = np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=float)
    if a.ndim != 1 or a.size < 2:
        raise DataError(f"{name}: expected a 1-D array of at least 2 examples, got shape {a.shape}")
    return a


def _check(confidence: float, resamples: int) -> None:
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence: {confidence} is not in (0, 1)")
    if resamples < 100:
        raise ConfigError(f"resamples: {resamples} is too few (at least 100)")


def bca_interval(
    values: Any,
    statistic: Statistic = np.mean,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(estimate, lower, upper)`` of ``statistic(values)`` by the BCa bootstrap.

    Falls back to the percentile interval when every resample gives the same value (no spread to
    correct). Raises DataError for fewer than 2 values.
    """
    _check(confidence, resamples)
    x = _array(values, "values")
    n = x.size
    rng = np.random.default_rng(seed)
    theta = float(statistic(x))
    boot = np.array([statistic(x[rng.integers(0, n, n)]) for _ in range(resamples)], dtype=float)
    alpha = (1 - confidence) / 2
    if np.all(boot == boot[0]):
        return theta, float(boot[0]), float(boot[0])
    below = np.mean(boot < theta) + 0.5 * np.mean(boot == theta)
    below = min(max(below, 1.0 / (2 * resamples)), 1 - 1.0 / (2 * resamples))
    normal = NormalDist()
    z0 = normal.inv_cdf(below)
    jack = np.array([statistic(np.delete(x, i)) for i in range(n)], dtype=float)
    d = jack.mean() - jack
    denom = 6.0 * float(np.sum(d**2)) ** 1.5
    a = float(np.sum(d**3)) / denom if denom > 0 else 0.0

    def adjusted(q: float) -> float:
        z = normal.inv_cdf(q)
        return normal.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))

    lo, hi = np.quantile(boot, [adjusted(alpha), adjusted(1 - alpha)])
    return theta, float(lo), float(hi)


@attrs.frozen
class PairedComparison:
    """Model B minus model A on the same examples."""

    metric_a: float
    metric_b: float
    difference: float
    lower: float
    upper: float
    p_value: float
    confidence: float
    method: str


def paired_bootstrap(
    a: Any,
    b: Any,
    metric: Statistic = np.mean,
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> PairedComparison:
    """``metric(b) - metric(a)`` over the same resampled examples, with a percentile interval.

    ``a`` and ``b`` are per-example scores (1/0 correctness, losses...). The p-value is twice the
    smaller share of resampled differences on either side of zero (clipped to 1).
    """
    _check(confidence, resamples)
    xa, xb = _array(a, "a"), _array(b, "b")
    if xa.size != xb.size:
        raise DataError(f"a and b must score the same examples: {xa.size} vs {xb.size}")
    rng = np.random.default_rng(seed)
    n = xa.size
    diffs = np.empty(resamples)
    for i in range(resamples):
        idx = rng.integers(0, n, n)
        diffs[i] = metric(xb[idx]) - metric(xa[idx])
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(diffs, [alpha, 1 - alpha])
    p = min(1.0, 2 * min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))))
    ma, mb = float(metric(xa)), float(metric(xb))
    return PairedComparison(ma, mb, mb - ma, float(lo), float(hi), p, confidence, "paired_bootstrap")


def permutation_test(
    a: Any,
    b: Any,
    metric: Statistic = np.mean,
    *,
    resamples: int = 5000,
    seed: int = 0,
) -> float:
    """Two-sided p-value of ``metric(b) - metric(a)`` under random swaps of each pair (sign flips).

    Uses the (count + 1) / (resamples + 1) estimate, so it is never 0.
    """
    _check(0.95, resamples)
    xa, xb = _array(a, "a"), _array(b, "b")
    if xa.size != xb.size:
        raise DataError(f"a and b must score the same examples: {xa.size} vs {xb.size}")
    observed = abs(metric(xb) - metric(xa))
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(resamples):
        swap = rng.random(xa.size) < 0.5
        pa, pb = np.where(swap, xb, xa), np.where(swap, xa, xb)
        hits += abs(metric(pb) - metric(pa)) >= observed - 1e-12
    return (hits + 1) / (resamples + 1)


def mcnemar_test(correct_a: Any, correct_b: Any) -> tuple[int, int, float]:
    """``(only_a, only_b, p)``: discordant counts and McNemar's exact two-sided p-value."""
    ca, cb = _array(correct_a, "correct_a").astype(bool), _array(correct_b, "correct_b").astype(bool)
    if ca.size != cb.size:
        raise DataError(f"correct_a and correct_b must cover the same examples: {ca.size} vs {cb.size}")
    only_a, only_b = int(np.sum(ca & ~cb)), int(np.sum(~ca & cb))
    n = only_a + only_b
    if n == 0:
        return only_a, only_b, 1.0
    tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1)) / float(2**n)
    return only_a, only_b, min(1.0, 2 * tail)


def paired_effect_size(
    a: Any, b: Any, *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """Cohen's d_z (mean of ``b - a`` over its standard deviation) with a BCa interval."""
    d = _array(b, "b") - _array(a, "a")

    def dz(x: Array) -> float:
        sd = float(np.std(x, ddof=1))
        return float(np.mean(x)) / sd if sd > 0 else 0.0

    return bca_interval(d, dz, confidence=confidence, resamples=resamples, seed=seed)
