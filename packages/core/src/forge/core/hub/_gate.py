"""Promotion gates: is a candidate significantly worse than the baseline on the regression set?

Both models score the candidate run's regression set (its recipe's test split, val when there is
none); the datasets' fingerprints must match. The statistic is the per-example difference in
correctness (accuracy); its interval comes from a seeded paired bootstrap and McNemar's exact test
gives a p-value on the discordant pairs. The gate refuses when the whole interval lies below
``-threshold``: the candidate is worse by more than the threshold, and significantly so.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import attrs
import torch

from forge.core.errors import ConfigError

__all__ = ["GateResult", "gate"]


@attrs.frozen
class GateResult:
    """The gate's decision and the figures behind it."""

    passed: bool
    metric: str
    candidate: float
    baseline: float
    delta: float
    interval: tuple[float, float]
    confidence: float
    mcnemar_p: float
    examples: int
    threshold: float
    candidate_run: str
    baseline_run: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return attrs.asdict(self)


def _correct(run_dir: Path, loader: Any) -> torch.Tensor:
    from forge.core._runner import load_model

    model = load_model(run_dir, "best")
    hits = []
    with torch.no_grad():
        for batch in loader:
            out = model(batch[0])
            hits.append(out.argmax(-1) == batch[1])
    return torch.cat(hits)


def _resolve(baseline: str, registry_path: str | os.PathLike[str] | None) -> Path:
    if Path(baseline).is_dir():
        return Path(baseline)
    from forge.core.hub._models import ModelRegistry

    name, sep, which = baseline.replace("@", ":").partition(":")
    return Path(ModelRegistry(registry_path).get(name, which if sep else "production").run_dir)


def gate(
    candidate: str | os.PathLike[str],
    against: str,
    *,
    threshold: float = 0.0,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    registry_path: str | os.PathLike[str] | None = None,
) -> GateResult:
    """Compare ``candidate`` (a run directory) with ``against`` on the candidate's regression set.

    Args:
        candidate: The candidate run directory.
        against: A run directory, or a registered model: ``NAME`` (its production version),
            ``NAME@staging``, ``NAME:3``.
        threshold: Accuracy points (as a fraction, 0.01 = one point) the candidate may lose.
        confidence: Level of the paired bootstrap interval.
        resamples: Bootstrap resamples.
        seed: Seed of the resampling.
        registry_path: The model registry's database (default: ``FORGE_MODEL_REGISTRY``).

    Raises:
        ConfigError: the two runs were trained on different data, or bad arguments.
    """
    if not 0 < confidence < 1 or threshold < 0 or resamples < 100:
        raise ConfigError("gate: confidence must be in (0, 1), threshold >= 0 and resamples >= 100")
    from forge.core._runner import run_loaders
    from forge.core.evaluator._stats import mcnemar_test
    from forge.core.hub._runs import read_run

    cand_dir, base_dir = Path(candidate), _resolve(against, registry_path)
    cand, base = read_run(cand_dir), read_run(base_dir)
    fp_c = cand.lineage.get("dataset", {}).get("fingerprint")
    fp_b = base.lineage.get("dataset", {}).get("fingerprint")
    if fp_c != fp_b:
        raise ConfigError(f"gate: {cand_dir} and {base_dir} were trained on different data ({fp_c} vs {fp_b})")
    _, _, val, test = run_loaders(cand_dir)
    loader = test if test is not None else val
    if loader is None:
        raise ConfigError(f"gate: {cand_dir}'s dataset has no test or val split to use as regression set")
    c, b = _correct(cand_dir, loader), _correct(base_dir, loader)
    diff = c.double() - b.double()
    n = diff.numel()
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, n, (resamples, n), generator=gen)
    boot = diff[idx].mean(dim=1).sort().values
    alpha = (1 - confidence) / 2
    lo = float(boot[int(math.floor(alpha * (resamples - 1)))])
    hi = float(boot[int(math.ceil((1 - alpha) * (resamples - 1)))])
    _, _, p = mcnemar_test(c.numpy(), b.numpy())
    delta = float(diff.mean())
    passed = hi >= -threshold
    reason = (
        f"candidate accuracy {float(c.double().mean()):.4f} vs baseline {float(b.double().mean()):.4f}: "
        f"difference {delta:+.4f}, {confidence:.0%} interval [{lo:+.4f}, {hi:+.4f}], McNemar p={p:.3g}; "
        + (
            "not significantly worse than the threshold allows"
            if passed
            else f"significantly worse by more than {threshold:.4f}: promotion refused"
        )
    )
    return GateResult(
        passed=passed,
        metric="accuracy",
        candidate=float(c.double().mean()),
        baseline=float(b.double().mean()),
        delta=delta,
        interval=(lo, hi),
        confidence=confidence,
        mcnemar_p=p,
        examples=n,
        threshold=threshold,
        candidate_run=str(cand_dir),
        baseline_run=str(base_dir),
        reason=reason,
    )
