"""Drift between a reference sample (training data) and a current one (live inputs, new data).

- :func:`psi`: population stability index over the reference's quantile bins (1-D); about 0.1
  is read as a moderate shift and above 0.2 as a significant one.
- :func:`ks_statistic` / :func:`ks_test`: the two-sample Kolmogorov-Smirnov statistic (largest gap
  between the empirical CDFs) and its asymptotic p-value.
- :func:`mmd`: maximum mean discrepancy with a Gaussian kernel (median-distance bandwidth) between
  two multivariate samples, with a seeded permutation p-value.
- :func:`drift_report`: all of them per feature (and MMD over all features), with which features
  pass the thresholds.

forge-serve's drift monitor computes its gauges with these functions.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from forge.core.errors import DataError

__all__ = ["drift_report", "ks_statistic", "ks_test", "mmd", "psi"]

_EPS = 1e-4


def _vector(x: Any, name: str) -> Tensor:
    t = torch.as_tensor(x, dtype=torch.float64).flatten()
    if t.numel() < 2 or not torch.isfinite(t).all():
        raise DataError(f"{name}: needs at least 2 finite values (got {t.numel()})")
    return t


def psi(reference: Any, current: Any, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference`` (1-D), over the reference's quantile bins."""
    ref_t, cur_t = _vector(reference, "reference"), _vector(current, "current")
    edges = torch.unique(torch.quantile(ref_t, torch.linspace(0, 1, bins + 1, dtype=torch.float64)[1:-1]))
    ref = torch.bincount(torch.bucketize(ref_t, edges), minlength=len(edges) + 1).double() / ref_t.numel()
    cur = torch.bincount(torch.bucketize(cur_t, edges), minlength=len(edges) + 1).double() / cur_t.numel()
    ref, cur = ref.clamp_min(_EPS), cur.clamp_min(_EPS)
    return float(((cur - ref) * torch.log(cur / ref)).sum())


def ks_statistic(reference: Any, current: Any) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs (1-D)."""
    a, _ = torch.sort(_vector(reference, "reference"))
    b, _ = torch.sort(_vector(current, "current"))
    points = torch.cat([a, b])
    cdf_a = torch.searchsorted(a, points, right=True).double() / a.numel()
    cdf_b = torch.searchsorted(b, points, right=True).double() / b.numel()
    return float((cdf_a - cdf_b).abs().max())


def ks_test(reference: Any, current: Any) -> tuple[float, float]:
    """``(statistic, p)``: the KS statistic and its asymptotic two-sided p-value (Kolmogorov distribution)."""
    d = ks_statistic(reference, current)
    n, m = torch.as_tensor(reference).numel(), torch.as_tensor(current).numel()
    en = math.sqrt(n * m / (n + m))
    lam = (en + 0.12 + 0.11 / en) * d
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return d, min(1.0, max(0.0, p))


def _matrix(x: Any, name: str) -> Tensor:
    t = torch.as_tensor(x, dtype=torch.float64)
    t = t[:, None] if t.dim() == 1 else t.flatten(1)
    if t.shape[0] < 2 or not torch.isfinite(t).all():
        raise DataError(f"{name}: needs at least 2 finite rows (got shape {tuple(t.shape)})")
    return t


def mmd(reference: Any, current: Any, *, permutations: int = 200, seed: int = 0) -> tuple[float, float]:
    """``(mmd2, p)``: the unbiased squared MMD with a Gaussian kernel and its permutation p-value."""
    x, y = _matrix(reference, "reference"), _matrix(current, "current")
    if x.shape[1] != y.shape[1]:
        raise DataError(f"mmd: reference has {x.shape[1]} features, current {y.shape[1]}")
    z = torch.cat([x, y])
    d2 = torch.cdist(z, z).pow(2)
    bandwidth = float(d2[d2 > 0].median()) if bool((d2 > 0).any()) else 1.0
    k = torch.exp(-d2 / bandwidth)
    n = x.shape[0]

    def stat(idx: Tensor) -> float:
        a, b = idx[:n], idx[n:]
        kxx, kyy, kxy = k[a][:, a], k[b][:, b], k[a][:, b]
        m1, m2 = a.numel(), b.numel()
        xx = (kxx.sum() - kxx.diagonal().sum()) / (m1 * (m1 - 1))
        yy = (kyy.sum() - kyy.diagonal().sum()) / (m2 * (m2 - 1))
        return float(xx + yy - 2 * kxy.mean())

    observed = stat(torch.arange(z.shape[0]))
    g = torch.Generator().manual_seed(seed)
    hits = sum(stat(torch.randperm(z.shape[0], generator=g)) >= observed for _ in range(permutations))
    return observed, (hits + 1) / (permutations + 1)


def drift_report(
    reference: Any,
    current: Any,
    *,
    psi_threshold: float = 0.2,
    ks_p_threshold: float = 0.01,
    mmd_p_threshold: float = 0.01,
    names: list[str] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Per-feature PSI and KS, MMD over all features, and whether each passes its threshold.

    Args:
        reference: ``[N, F]`` (or ``[N]``) reference values.
        current: ``[M, F]`` current values.
        psi_threshold: A feature drifts when its PSI exceeds this.
        ks_p_threshold: ... or its KS p-value is below this.
        mmd_p_threshold: The sample drifts as a whole when MMD's p-value is below this.
        names: Feature names (default ``f0``, ``f1``, ...).
        seed: Seed of MMD's permutations.

    Returns:
        ``{"features": {name: {"psi", "ks", "ks_p", "drift"}}, "mmd2", "mmd_p", "drift": bool,
        "drifted": [names]}``.
    """
    x, y = _matrix(reference, "reference"), _matrix(current, "current")
    if x.shape[1] != y.shape[1]:
        raise DataError(f"drift_report: reference has {x.shape[1]} features, current {y.shape[1]}")
    labels = names or [f"f{i}" for i in range(x.shape[1])]
    if len(labels) != x.shape[1]:
        raise DataError(f"drift_report: {len(labels)} names for {x.shape[1]} features")
    per: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(labels):
        p = psi(x[:, i], y[:, i])
        d, pk = ks_test(x[:, i], y[:, i])
        per[name] = {"psi": p, "ks": d, "ks_p": pk, "drift": p > psi_threshold or pk < ks_p_threshold}
    m2, pm = mmd(x, y, seed=seed)
    drifted = [n for n, v in per.items() if v["drift"]]
    return {
        "features": per,
        "mmd2": m2,
        "mmd_p": pm,
        "drifted": drifted,
        "drift": bool(drifted) or pm < mmd_p_threshold,
    }
