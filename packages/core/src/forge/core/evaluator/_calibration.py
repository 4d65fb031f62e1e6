"""Calibration: expected calibration error, a reliability diagram, and temperature scaling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from forge.core.errors import DataError

__all__ = ["expected_calibration_error", "fit_temperature", "reliability_diagram", "reliability_table"]

_LOG_T_MAX = float(np.log(100.0))


def _probs_labels(probs: Any, labels: Any) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    p = np.asarray(probs.numpy() if hasattr(probs, "numpy") else probs, dtype=float)
    y = np.asarray(labels.numpy() if hasattr(labels, "numpy") else labels).astype(int)
    if p.ndim != 2 or y.ndim != 1 or p.shape[0] != y.shape[0]:
        raise DataError(f"calibration: probabilities [N, C] and labels [N] expected, got {p.shape} and {y.shape}")
    return p, y


def reliability_table(probs: Any, labels: Any, n_bins: int = 15) -> list[dict[str, float]]:
    """Per equal-width confidence bin: count, mean confidence and accuracy of the top-label prediction."""
    p, y = _probs_labels(probs, labels)
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        count = int(inside.sum())
        rows.append(
            {
                "lower": float(lo),
                "upper": float(hi),
                "count": count,
                "confidence": float(conf[inside].mean()) if count else 0.0,
                "accuracy": float((pred[inside] == y[inside]).mean()) if count else 0.0,
            }
        )
    return rows


def expected_calibration_error(probs: Any, labels: Any, n_bins: int = 15) -> float:
    """ECE (Guo et al., 2017): ``sum_b |B_b|/N * |acc(B_b) - conf(B_b)|`` over equal-width bins."""
    table = reliability_table(probs, labels, n_bins)
    total = sum(r["count"] for r in table)
    return sum(r["count"] / total * abs(r["accuracy"] - r["confidence"]) for r in table)


def fit_temperature(logits: Any, labels: Any, *, max_iter: int = 200) -> float:
    """The temperature T minimising the NLL of ``softmax(logits / T)`` on held-out data (LBFGS).

    T is kept within [0.01, 100]: a model at chance level has no finite optimum (the NLL keeps
    falling as T grows), and a bound there means "flatten everything", not a calibration.
    """
    import torch

    z = torch.as_tensor(np.asarray(logits.numpy() if hasattr(logits, "numpy") else logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(labels.numpy() if hasattr(labels, "numpy") else labels), dtype=torch.long)
    if z.ndim != 2 or y.ndim != 1 or z.shape[0] != y.shape[0]:
        raise DataError(
            f"fit_temperature: logits [N, C] and labels [N] expected, got {tuple(z.shape)}, {tuple(y.shape)}"
        )
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z / log_t.clamp(-_LOG_T_MAX, _LOG_T_MAX).exp(), y)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    opt.step(closure)  # type: ignore[no-untyped-call]
    return float(log_t.detach().clamp(-_LOG_T_MAX, _LOG_T_MAX).exp())


def reliability_diagram(probs: Any, labels: Any, path: str | Path, *, n_bins: int = 15, title: str = "") -> Path:
    """A PNG: accuracy per confidence bin against the diagonal, with the ECE in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = reliability_table(probs, labels, n_bins)
    ece = expected_calibration_error(probs, labels, n_bins)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    centers = [(r["lower"] + r["upper"]) / 2 for r in table]
    ax.bar(centers, [r["accuracy"] for r in table], width=1.0 / n_bins, edgecolor="black", label="accuracy")
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"{title + ': ' if title else ''}ECE {ece:.3f}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
