"""forge.core.sweep: Optuna sweeps over recipes (grid, TPE, pruning, shared storage) and ablations."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from click.testing import CliRunner

optuna = pytest.importorskip("optuna", reason="optuna is not installed (forge-core[sweep])")

from forge.core.errors import ConfigError  # noqa: E402
from forge.core.sweep import AblationSpec, ParamSpec, SweepSpec, load_spec, run_ablation, run_sweep  # noqa: E402
from forge.core.sweep._report import SweepReportCallback, SweepReportConfig  # noqa: E402

FAST = ("data.num_samples=256", "trainer.max_epochs=1")


def test_grid_sweep_runs_each_point_once_across_two_workers(tmp_path: Path) -> None:
    spec = SweepSpec(
        recipe="core/mlp",
        metric="val/accuracy",
        params=(
            ParamSpec(key="optimizer.lr", type="categorical", choices=(0.003, 0.0001)),
            ParamSpec(key="model.hidden", type="categorical", choices=([16], [32, 32])),
        ),
        sampler="grid",
        trials=3,
        pruner="none",
        overrides=FAST,
    )
    first = run_sweep(spec, tmp_path / "s")
    assert len(first.table) == 3
    second = run_sweep(spec, tmp_path / "s")  # a second worker on the same study: only the last point is left
    assert len(second.table) == 4
    points = {(r["param:optimizer.lr"], r["param:model.hidden"]) for r in second.table}
    assert len(points) == 4  # no point twice
    for row in second.table:
        run = Path(row["run_dir"])
        config = json.loads((run / "config.json").read_text())
        assert config["optimizer"]["lr"] == row["param:optimizer.lr"]
        assert config["model"]["hidden"] == json.loads(row["param:model.hidden"])
        metrics = json.loads((run / "metrics.json").read_text())
        assert row["value"] == pytest.approx(metrics["val/accuracy"])
    summary = json.loads((tmp_path / "s" / "sweep.json").read_text())
    best = max(second.table, key=lambda r: r["value"])
    assert summary["best"]["value"] == best["value"]
    assert (tmp_path / "s" / "sweep.csv").read_text().count("\n") == 5
    assert (tmp_path / "s" / "parallel_coordinates.png").stat().st_size > 1000


def test_the_report_callback_prunes_a_trial_below_the_median(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(
        study_name="s", storage=storage, direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=2)
    )
    for value in (0.8, 0.9):
        t = study.ask()
        t.report(value, 10)
        study.tell(t, value)
    trial = study.ask()
    cb = SweepReportCallback(SweepReportConfig(storage=storage, study="s", trial=trial.number, metric="val/accuracy"))

    class View:
        global_step = 10

    cb.on_validation_end(View(), {"val/loss": 1.0})  # the metric is absent: nothing reported
    with pytest.raises(optuna.TrialPruned):
        cb.on_validation_end(View(), {"val/accuracy": 0.1})
    good = study.ask()
    ok = SweepReportCallback(SweepReportConfig(storage=storage, study="s", trial=good.number, metric="val/accuracy"))
    ok.on_validation_end(View(), {"val/accuracy": 0.95})  # above the median: keeps going


def test_tpe_sweep_from_a_spec_file_through_the_cli(tmp_path: Path) -> None:
    spec_file = tmp_path / "lr.toml"
    spec_file.write_text(
        'recipe = "core/mlp"\nmetric = "val/loss"\ndirection = "minimize"\ntrials = 2\n'
        'overrides = ["data.num_samples=256", "trainer.max_epochs=1"]\n'
        '[params]\n"optimizer.lr" = { type = "float", low = 1e-4, high = 1e-1, log = true }\n'
    )
    spec = load_spec(spec_file)
    assert isinstance(spec, SweepSpec) and spec.params[0].log
    from forge.core.cli import cli

    out = CliRunner().invoke(cli, ["sweep", str(spec_file), "--dir", str(tmp_path / "tpe")])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output[out.output.index("{") :])
    assert len(result["table"]) == 2 and all(1e-4 <= r["param:optimizer.lr"] <= 1e-1 for r in result["table"])


def test_bad_specs_are_refused_with_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="low < high"):
        ParamSpec(key="optimizer.lr", type="float", low=1.0, high=0.5)
    with pytest.raises(ConfigError, match="log = true needs low > 0"):
        ParamSpec(key="optimizer.lr", type="float", low=0.0, high=1.0, log=True)
    with pytest.raises(ConfigError, match="needs choices"):
        ParamSpec(key="model.hidden", type="categorical")
    bad = tmp_path / "bad.toml"
    bad.write_text('recipe = "core/mlp"\nmetric = "val/loss"\n[params]\nlr = 3\n')
    with pytest.raises(ConfigError, match="params.lr must be a table"):
        load_spec(bad)
    with pytest.raises(ConfigError, match="grid sampler needs step"):
        ParamSpec(key="optimizer.lr", type="float", low=0.1, high=0.2).grid()


def test_ablation_reports_each_part_with_an_interval_over_seeds(tmp_path: Path) -> None:
    spec = AblationSpec(
        recipe="core/mlp",
        metric="val/accuracy",
        ablate={"hidden layers": ("model.hidden=[]",)},
        seeds=(0, 1),
        overrides=FAST,
    )
    result = run_ablation(spec, tmp_path / "ab")
    full, part = result.table
    assert full["variant"] == "full" and len(full["scores"]) == 2
    deltas = [f - v for f, v in zip(full["scores"], part["scores"], strict=True)]
    assert part["contribution"] == pytest.approx(statistics.fmean(deltas))
    lo, hi = part["interval"]
    assert lo <= part["contribution"] <= hi
    saved = json.loads((tmp_path / "ab" / "ablation.json").read_text())
    assert saved["variants"][1]["contribution"] == pytest.approx(part["contribution"])
    assert json.loads((tmp_path / "ab" / "full-seed1" / "config.json").read_text())["seed"] == 1
    with pytest.raises(ConfigError, match="at least two seeds"):
        AblationSpec(recipe="core/mlp", metric="m", ablate={"x": ()}, seeds=(0,))


def test_a_pruned_trial_stops_its_run_inside_the_trainer(tmp_path: Path) -> None:
    from forge.core import run_recipe
    from forge.core.sweep._report import make_pruner

    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize", pruner=make_pruner("median"))
    for value in (1.0, 1.0):
        t = study.ask()
        for step in range(1, 50):
            t.report(value, step)
        study.tell(t, value)
    trial = study.ask()
    section = {
        "name": "core.sweep_report",
        "storage": storage,
        "study": "s",
        "trial": trial.number,
        "metric": "val/accuracy",
    }
    overrides = [*FAST, "trainer.max_epochs=3", "optimizer.lr=1e-7", "callbacks=" + json.dumps([section])]
    with pytest.raises(optuna.TrialPruned, match="pruned at step"):
        run_recipe("core/mlp", overrides, run_dir=tmp_path / "r")
    log = [json.loads(line) for line in (tmp_path / "r" / "log.jsonl").read_text().splitlines()]
    assert max(r.get("epoch", 0) for r in log if "epoch" in r) < 3  # stopped before its last epoch
