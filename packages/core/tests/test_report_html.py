"""``analyse_run``, the regression set, the HTML report and ``forge report``, on small trained runs.

The figures of the analysis are checked against independent recomputation (a manual loop over
the split, scikit-learn), and the HTML page is rendered by a real headless Chromium when one is
installed (``apt-get install -y chromium``).
"""

from __future__ import annotations

import copy
import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from forge.core import load_model, run_recipe
from forge.core.errors import CheckpointError, DataError
from forge.core.evaluator._analysis import (
    Predictions,
    _loaders,
    _robustness,
    analyse_run,
    predict,
    read_groups,
    regression_check,
    training_curves,
    write_regression_set,
)
from forge.core.evaluator._calibration import expected_calibration_error
from forge.core.evaluator._html import SECTIONS, render_html, write_html_report
from forge.core.evaluator._robustness import corrupt

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HOSTILE = '<script>alert("x")</script>&'


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("report") / "mlp"
    # noisy clusters, so that the model makes mistakes and calibration has something to fix
    overrides = ["data.num_samples=640", "data.noise=7.0", "trainer.max_epochs=2"]
    run_recipe("core/mlp", overrides, run_dir=run_dir)
    return run_dir


@pytest.fixture(scope="module")
def test_split(mlp_run: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The test split's inputs and labels, read by a plain loop over the rebuilt loader."""
    xs, ys = [], []
    for x, y in _loaders(mlp_run)["test"]:
        xs.append(x)
        ys.append(y)
    return torch.cat(xs), torch.cat(ys)


@pytest.fixture(scope="module")
def groups(test_split: tuple[torch.Tensor, torch.Tensor]) -> list[str]:
    n = test_split[1].shape[0]
    return ["young" if i % 3 else HOSTILE for i in range(n)]


@pytest.fixture(scope="module")
def analysis(mlp_run: Path, groups: list[str]) -> dict[str, Any]:
    return analyse_run(mlp_run, groups=groups, ood_run_or_loader=mlp_run, resamples=500)


def test_accuracy_and_per_class_figures_match_a_manual_loop(
    mlp_run: Path, test_split: tuple[torch.Tensor, torch.Tensor], analysis: dict[str, Any]
) -> None:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    x, y = test_split
    with torch.no_grad():
        pred = load_model(mlp_run, "best")(x).argmax(-1)
    accuracy = float((pred == y).double().mean())
    summary = analysis["summary"]
    assert summary["examples"] == y.shape[0]
    assert summary["accuracy"]["estimate"] == pytest.approx(accuracy)
    assert 0.3 < accuracy < 1.0, "the noisy data should give an imperfect but trained model"
    assert summary["accuracy"]["lower"] < accuracy < summary["accuracy"]["upper"]
    assert summary["accuracy"]["method"] == "bca"
    precision, recall, f1, support = precision_recall_fscore_support(y, pred, labels=range(4), zero_division=0)
    rows = analysis["classes"]["per_class"]
    assert [r["support"] for r in rows] == support.tolist()
    assert [r["precision"] for r in rows] == pytest.approx(precision.tolist())
    assert [r["recall"] for r in rows] == pytest.approx(recall.tolist())
    assert [r["f1"] for r in rows] == pytest.approx(f1.tolist())
    assert analysis["classes"]["confusion_matrix"] == confusion_matrix(y, pred, labels=range(4)).tolist()
    assert analysis["checkpoint"]["which"] == "best"
    json.dumps(analysis, allow_nan=False)  # JSON-ready and NaN-free


def test_temperature_is_fitted_on_val_and_applied_to_the_split(
    mlp_run: Path, test_split: tuple[torch.Tensor, torch.Tensor], analysis: dict[str, Any]
) -> None:
    cal = analysis["calibration"]
    t = cal["temperature"]
    assert t is not None and t > 0
    model = load_model(mlp_run, "best")
    val = predict(model, _loaders(mlp_run)["val"])
    nll = torch.nn.functional.cross_entropy
    # the fitted temperature is the NLL optimum on val: it beats T = 1 and its neighbours there
    assert float(nll(val.logits / t, val.labels)) <= float(nll(val.logits, val.labels)) + 1e-6
    for other in (t * 0.8, t * 1.25):
        assert float(nll(val.logits / t, val.labels)) <= float(nll(val.logits / other, val.labels)) + 1e-6
    assert cal["val_ece_after"] <= cal["val_ece_before"] + 0.01
    x, y = test_split
    with torch.no_grad():
        logits = model(x)
    assert cal["ece_before"] == pytest.approx(expected_calibration_error(logits.softmax(-1), y))
    assert cal["ece_after"] == pytest.approx(expected_calibration_error((logits / t).softmax(-1), y))
    assert sum(r["count"] for r in cal["reliability_after"]) == y.shape[0]


def test_training_curves_follow_log_jsonl(mlp_run: Path, analysis: dict[str, Any]) -> None:
    records = [json.loads(line) for line in (mlp_run / "log.jsonl").read_text().splitlines()]
    expected = [[r["step"], r["val/accuracy"]] for r in records if "val/accuracy" in r]
    curves = analysis["training_curves"]
    assert curves["val/accuracy"] == expected
    assert {"train/loss", "val/loss", "val/accuracy"} <= set(curves)
    assert training_curves(mlp_run / "missing") == {}


def test_subgroups_robustness_and_ood(
    analysis: dict[str, Any], groups: list[str], test_split: tuple[torch.Tensor, torch.Tensor]
) -> None:
    g = analysis["groups"]
    assert set(g["groups"]) == {"young", HOSTILE}
    assert sum(v["count"] for v in g["groups"].values()) == len(groups)
    assert set(g["largest_gaps"]) >= {"accuracy", "selection_rate"}
    rob = analysis["robustness"]
    assert rob["kind"] == "features"
    assert [r["severity"] for r in rob["results"]] == [1, 3, 5]
    assert all(0 <= r["accuracy"] <= 1 for r in rob["results"])
    assert rob["results"][-1]["accuracy"] <= rob["clean_accuracy"] + 0.05
    # the same set as OOD: the scores cannot tell them apart
    assert analysis["ood"]["auroc"]["msp"] == pytest.approx(0.5)
    assert analysis["ood"]["auroc"]["energy"] == pytest.approx(0.5)


def test_groups_must_have_one_label_per_example(mlp_run: Path) -> None:
    with pytest.raises(DataError, match="one per example"):
        analyse_run(mlp_run, groups=["a", "b"], robustness=False, regression=False, resamples=100)


def test_read_groups_reads_one_column_and_refuses_more(tmp_path: Path) -> None:
    good = tmp_path / "g.csv"
    good.write_text("group\na\nb\n\nc\n")
    assert read_groups(good) == ["a", "b", "c"]
    bad = tmp_path / "bad.csv"
    bad.write_text("a,1\n")
    with pytest.raises(DataError, match="line 1: expected one column"):
        read_groups(bad)
    with pytest.raises(DataError, match="not found"):
        read_groups(tmp_path / "none.csv")


def test_regression_set_same_model_reports_nothing_changed(mlp_run: Path, analysis: dict[str, Any]) -> None:
    assert analysis["regression"]["status"] in ("created", "unchanged")
    assert (mlp_run / "regression" / "test.safetensors").is_file()
    check = regression_check(mlp_run)
    assert check["status"] == "unchanged"
    assert check["changed_predictions"] == 0 and check["inputs_changed"] == 0
    assert check["accuracy_difference"] == 0.0
    assert check["mcnemar"]["p_value"] == 1.0
    assert check["examples"] == analysis["summary"]["examples"]


def test_regression_set_reports_changed_weights(mlp_run: Path, test_split: tuple[torch.Tensor, torch.Tensor]) -> None:
    x, y = test_split
    model = load_model(mlp_run, "best")
    with torch.no_grad():
        before = model(x).argmax(-1)
    changed = copy.deepcopy(model)
    with torch.no_grad():
        gen = torch.Generator().manual_seed(1)
        for p in changed.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * p.std().clamp_min(0.1))
        after = changed(x).argmax(-1)
    check = regression_check(mlp_run, model=changed)
    assert check["status"] == "predictions changed"
    assert check["changed_predictions"] == int((before != after).sum()) > 0
    acc_before, acc_after = float((before == y).double().mean()), float((after == y).double().mean())
    assert check["accuracy_difference"] == pytest.approx(acc_after - acc_before)
    only_ref = int(((before == y) & (after != y)).sum())
    only_now = int(((before != y) & (after == y)).sum())
    assert (check["mcnemar"]["only_reference_correct"], check["mcnemar"]["only_now_correct"]) == (only_ref, only_now)
    # the stored reference was not touched by the check
    assert regression_check(mlp_run)["changed_predictions"] == 0


def test_regression_set_reports_changed_inputs(mlp_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "copy"
    shutil.copytree(mlp_run, run)
    val = predict(load_model(run, "best"), _loaders(run)["val"])
    assert val.inputs is not None
    shifted = Predictions(val.inputs.clone(), val.logits, val.labels)
    assert shifted.inputs is not None
    shifted.inputs[:5] += 1.0  # as if five examples of the split had been edited since the set was kept
    write_regression_set(run, split="val", predictions=shifted)
    meta = json.loads((run / "regression" / "val.json").read_text())
    assert meta["examples"] == val.labels.shape[0] and meta["split"] == "val"
    check = regression_check(run, split="val")
    assert check["status"] == "data changed"
    assert check["inputs_changed"] == 5 and check["changed_predictions"] == 0


def test_val_split_analysis_says_its_temperature_is_in_sample(mlp_run: Path) -> None:
    a = analyse_run(mlp_run, split="val", robustness=False, regression=False, resamples=100)
    assert a["split"] == "val" and "in-sample" in a["calibration"]["note"]
    assert a["robustness"] is None and a["regression"] is None and a["groups"] is None


def test_regression_check_needs_a_set(mlp_run: Path) -> None:
    with pytest.raises(CheckpointError, match="no regression set for the val split"):
        regression_check(mlp_run, split="val")


def test_html_is_self_contained_and_escaped(analysis: dict[str, Any], tmp_path: Path) -> None:
    page = write_html_report(analysis, tmp_path / "r" / "report.html").read_text()
    for title in SECTIONS:
        assert f"<h2>{html.escape(title)}</h2>" in page
    assert HOSTILE not in page and html.escape(HOSTILE) in page
    assert not re.search(r"https?://", page)
    srcs = re.findall(r'<img src="([^"]*)"', page)
    assert len(srcs) == 4 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<link" not in page and "<script" not in page


def test_html_renders_without_optional_parts(analysis: dict[str, Any]) -> None:
    bare = dict(analysis, groups=None, robustness=None, ood=None, regression=None, training_curves={})
    bare["calibration"] = dict(analysis["calibration"], temperature=None, ece_after=None, reliability_after=None)
    page = render_html(bare)
    assert "No group labels given" in page and "No OOD set given" in page and "no log.jsonl" in page
    assert page.count("<img ") == 2  # reliability diagram and confusion matrix


def test_token_inputs_are_perturbed() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Embedding(50, 8), torch.nn.Flatten(), torch.nn.Linear(8 * 12, 3)).eval()
    ids = torch.randint(1, 50, (40, 12))
    with torch.no_grad():
        logits = model(ids)
    result = _robustness(model, Predictions(ids, logits, logits.argmax(-1)), seed=0)
    assert result["kind"] == "tokens" and result["clean_accuracy"] == 1.0
    assert [r["severity"] for r in result["results"]] == [1, 3, 5]
    assert result["results"][-1]["accuracy"] < 1.0


def test_forge_report_command_writes_json_and_html(mlp_run: Path, groups: list[str], tmp_path: Path) -> None:
    from forge.core.cli import cli

    groups_file = tmp_path / "groups.txt"
    groups_file.write_text("\n".join(["group", *("g" + g[:1] for g in groups)]) + "\n")
    out = tmp_path / "out"
    args = ["report", str(mlp_run), "--groups", str(groups_file), "--no-robustness", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert str(out / "report.json") in result.output and str(out / "report.html") in result.output
    data = json.loads((out / "report.json").read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert data["robustness"] is None and set(data["groups"]["groups"]) == {"g<", "gy"}
    assert data["regression"]["status"] == "unchanged"
    assert (out / "report.html").stat().st_size > 10_000


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(analysis: dict[str, Any], tmp_path: Path) -> None:
    page = write_html_report(analysis, tmp_path / "report.html")
    flags = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    for title in SECTIONS:
        assert f"<h2>{html.escape(title)}</h2>" in dom, title
    srcs = re.findall(r'<img [^>]*src="([^"]*)"', dom)
    assert len(srcs) == 4 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"https?://", dom)
    shot = tmp_path / "report.png"
    subprocess.run(
        [*flags, "--window-size=1200,3600", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("forge.vision", reason="forge-vision is not installed: no image run to corrupt")
    run_dir = tmp_path_factory.mktemp("report") / "digits"
    # a few steps of a narrow ResNet on a small test split: enough to exercise every corruption
    overrides = [
        "trainer.max_epochs=1",
        "trainer.max_steps=3",
        "model.width_multiplier=0.125",
        "data.test_fraction=0.05",
    ]
    run_recipe("vision/digits", overrides, run_dir=run_dir)
    return run_dir


def test_image_runs_are_scored_under_every_corruption(digits_run: Path, tmp_path: Path) -> None:
    analysis = analyse_run(digits_run, regression=False, resamples=200)
    rob = analysis["robustness"]
    assert rob["kind"] == "image"
    assert {(r["perturbation"], r["severity"]) for r in rob["results"]} == {
        (c, s) for c in ("gaussian_noise", "gaussian_blur", "contrast", "jpeg") for s in (1, 3, 5)
    }
    batches = list(_loaders(digits_run)["test"])
    x, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    model = load_model(digits_run, "best")
    with torch.no_grad():
        acc = float((model(corrupt(x, "contrast", 5, seed=0)).argmax(-1) == y).double().mean())
    row = next(r for r in rob["results"] if r["perturbation"] == "contrast" and r["severity"] == 5)
    assert row["accuracy"] == pytest.approx(acc)
    assert row["drop"] == pytest.approx(rob["clean_accuracy"] - acc)
    page = write_html_report(analysis, tmp_path / "digits.html").read_text()
    assert "gaussian_blur" in page and "robustness plot" in page
    assert np.isfinite(analysis["calibration"]["ece_before"])
