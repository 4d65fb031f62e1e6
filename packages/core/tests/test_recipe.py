"""Recipes: schema checks with key paths, building through the registry, `forge train`/`forge eval`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

import forge.core.registry  # noqa: F401  # loaded so it can be patched below
from forge.core.errors import ConfigError
from forge.core.recipe import Recipe, evaluate_run, load_recipe, resume_run, run_recipe, wilson_interval
from forge.core.registry import Registry
from forge.core.run import RunDir, load_model

SMALL = ["data.num_samples=256", "trainer.max_epochs=2", "trainer.log_every_n_steps=2"]


@pytest.fixture(autouse=True)
def core_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    ep = metadata.EntryPoint(name="core", value="forge.core.plugin", group="forge.plugins")
    reg = Registry(entry_points=[ep])
    monkeypatch.setattr(sys.modules["forge.core.registry"], "registry", reg)
    yield reg


def test_registered_recipe_name_and_slash_form_resolve_to_the_file() -> None:
    a = load_recipe("core/mlp")
    b = load_recipe("core.mlp")
    assert a.source == b.source and a.source.endswith("mlp.toml")
    assert a.model.name == "core.mlp" and a.loader["batch_size"] == 64
    assert a.trainer.seed == 0 and a.trainer.max_epochs == 5


def test_errors_name_the_key_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model\.hidden"):
        load_recipe("core/mlp", ["model.hidden=wide"]).validate()
    with pytest.raises(ConfigError, match=r"trainer\.max_epochs"):
        load_recipe("core/mlp", ["trainer.max_epochs=many"])
    with pytest.raises(ConfigError, match=r"data\.batch_size"):
        load_recipe("core/mlp", ["data.batch_size=big"]).validate()
    with pytest.raises(ConfigError, match="unknown key"):
        Recipe.from_dict({"model": {"name": "core.mlp"}, "modle": {}})
    with pytest.raises(ConfigError, match=r"loss: required section"):
        Recipe.from_dict({"model": "core.mlp", "data": "core.synthetic_classification", "optimizer": "core.sgd"})
    with pytest.raises(ConfigError, match="not a file and not a registered recipe"):
        load_recipe(tmp_path / "missing.toml")


def test_train_writes_a_complete_run_dir_then_resume_and_eval(tmp_path: Path) -> None:
    result = run_recipe("core/mlp", SMALL, run_dir=tmp_path / "run")
    run = tmp_path / "run"
    for name in (
        "config.toml",
        "config.json",
        "environment.json",
        "lineage.json",
        "log.jsonl",
        "metrics.json",
        "trainer.json",
    ):
        assert (run / name).is_file(), name
    lineage = json.loads((run / "lineage.json").read_text())
    assert lineage["dataset"]["fingerprint"] and len(lineage["config_hash"]) == 64
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["num_classes"] == 4  # filled in from the dataset's info
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["stop_reason"] == "max_epochs" and "test/accuracy" in metrics
    assert result.metrics["val/accuracy"] > 0.5  # four classes: chance is 0.25
    log = RunDir(run).read_log()
    assert any("train/loss" in r for r in log) and any("val/loss" in r for r in log)

    model = load_model(run, "best")
    assert sum(p.numel() for p in model.parameters()) > 0 and not model.training

    resumed = resume_run(run, ["trainer.max_epochs=3"])
    assert resumed.fit.epoch == 3 and resumed.fit.global_step > result.fit.global_step

    report = evaluate_run(run, which="last")
    assert report["split"] == "test" and report["samples"] > 0
    low, high = report["accuracy_ci"]
    assert low <= report["accuracy"] <= high


def test_cli_train_and_eval(tmp_path: Path) -> None:
    from forge.core.cli.train import eval_command, train_command

    runner = CliRunner()
    out = runner.invoke(train_command, ["core/mlp", *SMALL, "--run-dir", str(tmp_path / "r")], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output[out.output.index("{") :])["run_dir"] == str(tmp_path / "r")
    ev = runner.invoke(eval_command, [str(tmp_path / "r"), "--which", "best"], catch_exceptions=False)
    assert ev.exit_code == 0, ev.output
    report = json.loads(ev.output[ev.output.index("{") :])
    assert report["which"] == "best" and 0.0 <= report["accuracy"] <= 1.0


def test_wilson_interval() -> None:
    low, high = wilson_interval(90, 100)
    assert 0.82 < low < 0.83 and 0.94 < high < 0.95
    assert wilson_interval(0, 10)[0] == pytest.approx(0.0, abs=1e-12)
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ConfigError):
        wilson_interval(1, 0)
