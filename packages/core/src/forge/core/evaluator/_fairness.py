"""Subgroup metrics and fairness gaps for classifiers (binary or multi-class, one group column)."""

from __future__ import annotations

from typing import Any

import numpy as np

from forge.core.errors import DataError

__all__ = ["subgroup_report"]


def _arr(x: Any) -> np.ndarray[Any, Any]:
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def subgroup_report(predictions: Any, labels: Any, groups: Any, *, positive: int = 1) -> dict[str, Any]:
    """Accuracy, selection rate, TPR and FPR per group, the largest gaps, and two fairness gaps.

    ``selection rate``, TPR and FPR treat class ``positive`` as the positive outcome. Returns
    ``{"groups": {g: {...}}, "largest_gaps": {metric: {"gap", "max_group", "min_group"}},
    "demographic_parity_difference": ..., "equalized_odds_difference": ...}`` where demographic
    parity difference is the largest gap in selection rate and equalized odds difference the
    larger of the TPR and FPR gaps (Hardt et al., 2016).
    """
    pred, y, g = _arr(predictions), _arr(labels), _arr(groups)
    if not pred.shape == y.shape == g.shape or pred.ndim != 1:
        raise DataError(
            "subgroup_report: predictions, labels and groups must be 1-D of one length, "
            f"got {pred.shape}, {y.shape}, {g.shape}"
        )
    per: dict[str, dict[str, float]] = {}
    for group in np.unique(g):
        m = g == group
        pos, neg = y[m] == positive, y[m] != positive
        sel = pred[m] == positive
        per[str(group)] = {
            "count": float(m.sum()),
            "accuracy": float((pred[m] == y[m]).mean()),
            "selection_rate": float(sel.mean()),
            "tpr": float(sel[pos].mean()) if pos.any() else float("nan"),
            "fpr": float(sel[neg].mean()) if neg.any() else float("nan"),
        }
    gaps: dict[str, dict[str, Any]] = {}
    for metric in ("accuracy", "selection_rate", "tpr", "fpr"):
        values = {k: v[metric] for k, v in per.items() if not np.isnan(v[metric])}
        if len(values) >= 2:
            hi, lo = max(values, key=values.__getitem__), min(values, key=values.__getitem__)
            gaps[metric] = {"gap": values[hi] - values[lo], "max_group": hi, "min_group": lo}
    return {
        "groups": per,
        "largest_gaps": gaps,
        "demographic_parity_difference": gaps.get("selection_rate", {}).get("gap", 0.0),
        "equalized_odds_difference": max(gaps.get("tpr", {}).get("gap", 0.0), gaps.get("fpr", {}).get("gap", 0.0)),
    }
