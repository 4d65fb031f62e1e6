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


@pytest.fixture
def trained_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A two-epoch core/mlp run (four classes), keeping every checkpoint, trained with core's plugin only."""
    from importlib import metadata

    from forge.core._registry import Registry
    from forge.core._runner import run_recipe

    ep = metadata.EntryPoint(name="core", value="forge.core._plugin", group="forge.plugins")
    monkeypatch.setattr(sys.modules["forge.core._registry"], "registry", Registry(entry_points=[ep]))
    overrides = ["data.num_samples=256", "trainer.max_epochs=2", "trainer.checkpoint.keep_last=5"]
    run_recipe("core/mlp", overrides, run_dir=tmp_path / "run")
    return tmp_path / "run"


def test_evaluate_run_reports_task_metrics_with_intervals_checkpoint_and_config(trained_run: Path) -> None:
    from forge.core._run import find_checkpoint
    from forge.core.evaluator import evaluate_run

    report = evaluate_run(trained_run, which="last", resamples=40, confidence=0.9)
    # the recipe names only accuracy; F1, AUROC and the other classification metrics come from the task
    assert report["metric_sources"]["accuracy"] == "recipe"
    for name in ("f1", "auroc", "average_precision", "calibration_error"):
        assert report["metric_sources"][name] == "task" and 0.0 <= report[name] <= 1.0, name
        low, high = report[f"{name}_ci"]
        assert low <= high and report["intervals"][name]["method"] == "percentile_bootstrap", name
        assert report["intervals"][name]["num_resamples"] >= 36 and report["intervals"][name]["confidence"] == 0.9
    assert report["intervals"]["accuracy"]["method"] == "wilson"
    assert report["loss_ci"][0] <= report["loss"] <= report["loss_ci"][1]
    # which checkpoint: the newest one, named by step and weights hash
    last = find_checkpoint(trained_run, "last")
    manifest = json.loads((last.path / "manifest.json").read_text())
    ckpt = report["checkpoint"]
    assert ckpt["which"] == "last" and ckpt["step"] == last.manifest["trainer"]["global_step"]
    assert ckpt["weights_sha256"] == manifest["files"]["model.safetensors"] and ckpt["path"] == str(last.path)
    # written into the run directory, with the configuration that produced it
    path = trained_run / "eval" / "test-last.json"
    assert report["report_path"] == str(path)
    saved = json.loads(path.read_text())
    assert saved["f1"] == pytest.approx(report["f1"]) and saved["checkpoint"] == ckpt
    assert saved["config"]["run"] == json.loads((trained_run / "config.json").read_text())
    assert saved["config"]["evaluation"]["resamples"] == 40
    assert saved["config"]["evaluation"]["metrics"]["auroc"]["num_classes"] == 4
    # the same figures as training's final test pass, which scored these same (final) weights
    trained = json.loads((trained_run / "metrics.json").read_text())
    assert report["accuracy"] == pytest.approx(trained["test/accuracy"])
    assert not [n for n in report["notes"] if "training summary" in n]


def test_evaluating_the_best_checkpoint_says_why_figures_differ_from_training(trained_run: Path) -> None:
    from forge.core.evaluator import evaluate_run

    index = json.loads((trained_run / "checkpoints" / "index.json").read_text())
    # make the first checkpoint the best by val/loss, so that best and last differ
    first, final = index["checkpoints"][0], index["checkpoints"][-1]
    assert first["step"] != final["step"]
    first["metrics"]["val/loss"] = -1.0
    (trained_run / "checkpoints" / "index.json").write_text(json.dumps(index))
    report = evaluate_run(trained_run, which="best", resamples=0)
    assert report["checkpoint"]["which"] == "best" and report["checkpoint"]["step"] == first["step"]
    assert report["checkpoint"]["last_step"] == final["step"]
    note = next(n for n in report["notes"] if "training summary" in n)
    assert f"final weights at step {final['step']}" in note and f"best checkpoint at step {first['step']}" in note
    assert (trained_run / "eval" / "test-best.json").is_file() and "f1_ci" not in report


def test_eval_command_prints_which_checkpoint_and_writes_the_report(trained_run: Path) -> None:
    from click.testing import CliRunner

    from forge.core.cli._train import eval_command

    result = CliRunner().invoke(eval_command, [str(trained_run), "--which", "last", "--resamples", "20"])
    assert result.exit_code == 0, result.output
    assert "last checkpoint (step" in result.stderr and str(trained_run / "eval" / "test-last.json") in result.stderr
    shown = json.loads(result.stdout)
    assert "auroc_ci" in shown and "config" not in shown and shown["checkpoint"]["which"] == "last"


def test_a_task_metric_that_does_not_fit_the_outputs_is_left_out_with_a_note(
    trained_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from forge.core.evaluator import _run, evaluate_run

    class Misfit:
        def update(self, preds: object, target: object) -> None:
            raise ValueError("expects token ids")

    broken = SimpleNamespace(build=Misfit, ref=SimpleNamespace(name="other.misfit"), to_dict=dict)
    monkeypatch.setattr(_run, "_task_metrics", lambda *args: ({"misfit": broken}, []))
    report = evaluate_run(trained_run, which="last", resamples=0, write=False)
    assert "misfit" not in report and "misfit" not in report["metric_sources"]
    assert "task metric skipped: other.misfit: ValueError: expects token ids" in report["notes"]
    assert "misfit" not in report["config"]["evaluation"]["metrics"] and "accuracy" in report
