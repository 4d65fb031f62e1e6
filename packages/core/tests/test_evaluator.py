"""Confidence intervals (Wilson, seeded percentile bootstrap) and the JSON evaluation report."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from forge.core.errors import ConfigError, DataError
from forge.core.evaluator import ConfidenceInterval, EvalReport, bootstrap_interval, wilson_interval


def test_wilson_interval_matches_published_values() -> None:
    # Newcombe (1998), table I: 81/263 -> 0.2553 to 0.3662 at 95%.
    ci = wilson_interval(81, 263)
    assert (round(ci.lower, 4), round(ci.upper, 4)) == (0.2553, 0.3662)
    assert ci.estimate == pytest.approx(81 / 263)
    # At the edges the interval stays inside [0, 1] and is not degenerate.
    zero, full = wilson_interval(0, 10), wilson_interval(10, 10)
    assert zero.lower == 0.0 and 0.0 < zero.upper < 0.35
    assert full.upper == 1.0 and 0.65 < full.lower < 1.0
    assert wilson_interval(81, 263, confidence=0.99).lower < ci.lower


@pytest.mark.parametrize(("successes", "total"), [(1, 0), (-1, 5), (6, 5)])
def test_wilson_rejects_bad_counts(successes: int, total: int) -> None:
    with pytest.raises(DataError):
        wilson_interval(successes, total)


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = y * 0.3 + rng.random(200)

    def auroc(pred: np.ndarray, target: np.ndarray) -> float:
        return float(roc_auc_score(target, pred))

    a = bootstrap_interval(auroc, s, y, num_resamples=200, seed=3)
    b = bootstrap_interval(auroc, s, y, num_resamples=200, seed=3)
    c = bootstrap_interval(auroc, s, y, num_resamples=200, seed=4)
    assert a == b and a != c
    assert a.lower < a.estimate < a.upper
    assert a.estimate == pytest.approx(roc_auc_score(y, s))
    assert a.method == "percentile_bootstrap" and a.num_resamples == 200


def test_bootstrap_accuracy_agrees_with_wilson() -> None:
    correct = np.array([1] * 170 + [0] * 30)

    def accuracy(pred: np.ndarray, target: np.ndarray) -> float:
        return float(np.mean(pred == target))

    boot = bootstrap_interval(accuracy, correct, np.ones_like(correct), num_resamples=2000, seed=0)
    wilson = wilson_interval(170, 200)
    assert boot.lower == pytest.approx(wilson.lower, abs=0.015)
    assert boot.upper == pytest.approx(wilson.upper, abs=0.015)


def test_bootstrap_reports_undefined_metrics_and_bad_input() -> None:
    y = np.array([0] * 19 + [1])
    s = np.linspace(0, 1, 20)

    def auroc(pred: np.ndarray, target: np.ndarray) -> float:
        return float(roc_auc_score(target, pred))

    with pytest.raises(DataError, match="undefined"):
        bootstrap_interval(auroc, s, y, num_resamples=100, seed=0)
    with pytest.raises(DataError, match="equal"):
        bootstrap_interval(auroc, s, y[:5])
    with pytest.raises(ConfigError, match="confidence"):
        bootstrap_interval(auroc, s, y, confidence=1.5)


def test_eval_report_round_trips_through_json(tmp_path: Path) -> None:
    report = EvalReport(
        metrics={"accuracy": 0.85, "ece": math.nan},
        intervals={"accuracy": wilson_interval(170, 200)},
        num_samples=200,
        split="test",
        model="runs/a/step-000100",
        dataset="core.synthetic@1",
        extra={"per_class": [0.8, 0.9]},
    )
    data = json.loads(report.to_json())
    assert data["metrics"] == {"accuracy": 0.85, "ece": None}
    assert data["intervals"]["accuracy"]["method"] == "wilson"
    path = report.save(tmp_path / "eval" / "report.json")
    loaded = EvalReport.load(path)
    assert loaded.intervals == report.intervals
    assert loaded.metrics["accuracy"] == 0.85 and math.isnan(loaded.metrics["ece"])
    assert loaded.to_dict() == report.to_dict()
    assert isinstance(loaded.intervals["accuracy"], ConfidenceInterval)


def test_eval_report_errors_name_the_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(DataError, match="bad.json"):
        EvalReport.load(tmp_path / "bad.json")
    with pytest.raises(DataError, match="JSON-able"):
        EvalReport(metrics={}, num_samples=0, extra={"x": object()}).to_json()


def test_evaluator_imports_without_torch_and_loads_evaluate_run_on_first_use() -> None:
    code = (
        "import sys, forge.core.evaluator as ev\n"
        "assert 'torch' not in sys.modules and 'forge.core._runner' not in sys.modules\n"
        "assert callable(ev.evaluate_run) and 'forge.core._runner' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
