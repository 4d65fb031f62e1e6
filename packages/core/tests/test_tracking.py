"""forge.core.tracking: CSV, TensorBoard and MLflow (SQLite backend) mirror a real run."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

from forge.core import run_recipe
from forge.core.errors import ConfigError
from forge.core.tracking import flatten_params

FAST = ["data.num_samples=256", "trainer.max_epochs=2", "trainer.log_every_n_steps=2"]


def _log_records(run_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


def _tracked(tmp_path: Path, trackers: list[dict[str, object]]) -> Path:
    section = {"name": "core.tracking", "trackers": trackers}
    return run_recipe("core/mlp", [*FAST, "callbacks=" + json.dumps([section])], run_dir=tmp_path / "run").run_dir


def test_flatten_params() -> None:
    assert flatten_params({"optimizer": {"lr": 0.1, "betas": [0.9, 0.99]}, "seed": 0}) == {
        "optimizer.lr": 0.1,
        "optimizer.betas": "[0.9, 0.99]",
        "seed": 0,
    }


def test_csv_mirrors_every_metric_record_of_the_log(tmp_path: Path) -> None:
    run = _tracked(tmp_path, [{"name": "core.csv"}])
    with (run / "metrics.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    expected = [
        r for r in _log_records(run) if isinstance(r.get("step"), int) and ("val/loss" in r or "train/loss" in r)
    ]
    assert len(rows) >= len(expected) > 0
    val_rows = [r for r in rows if r.get("val/loss")]
    val_log = [r for r in _log_records(run) if "val/loss" in r]
    assert [float(r["val/loss"]) for r in val_rows] == pytest.approx([float(r["val/loss"]) for r in val_log])  # type: ignore[arg-type]


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="tensorboard is not installed")
def test_tensorboard_event_files_hold_the_scalars(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = _tracked(tmp_path, [{"name": "core.tensorboard"}])
    events = EventAccumulator(str(run / "tensorboard"))
    events.Reload()
    scalars = events.Tags()["scalars"]
    assert "val/loss" in scalars and "val/accuracy" in scalars
    steps = [e.step for e in events.Scalars("val/loss")]
    assert steps == [r["step"] for r in _log_records(run) if "val/loss" in r]


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="mlflow is not installed")
def test_mlflow_with_a_sqlite_backend_store(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    artifacts = (tmp_path / "artifacts").as_uri()
    run = _tracked(
        tmp_path, [{"name": "core.mlflow", "tracking_uri": uri, "experiment": "digits", "artifact_location": artifacts}]
    )
    client = MlflowClient(tracking_uri=uri)
    (found,) = client.search_runs([client.get_experiment_by_name("digits").experiment_id])
    assert found.info.status == "FINISHED"
    assert found.data.tags["forge.run_dir"] == str(run.resolve())
    assert found.data.params["optimizer.lr"] == "0.003"
    history = client.get_metric_history(found.info.run_id, "val.loss")
    log = [r for r in _log_records(run) if "val/loss" in r]
    assert [m.step for m in history] == [r["step"] for r in log]
    assert [m.value for m in history] == pytest.approx([r["val/loss"] for r in log])  # type: ignore[misc]
    stored = {a.path for a in client.list_artifacts(found.info.run_id)}
    assert {"config.json", "environment.json", "lineage.json"} <= stored
    assert (tmp_path / "artifacts").is_dir()


def test_a_tracker_section_without_a_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"trackers\[0\]: needs name"):
        _tracked(tmp_path, [{"filename": "x.csv"}])
    assert not (tmp_path / "run").exists()  # refused before the first step: no run directory left
