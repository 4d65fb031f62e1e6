"""Recipes: schema checks with key paths, resolving once, building through the registry, `forge train`/`forge eval`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import forge.core._registry  # noqa: F401  # loaded so it can be patched below
from forge.core import _recipe as recipe_module
from forge.core import _run as run_module
from forge.core import _runner
from forge.core._deprecated import ForgeDeprecationWarning
from forge.core._recipe import Recipe, load_recipe
from forge.core._registry import Registry
from forge.core._run import RunDir
from forge.core._runner import load_model, resume_run, run_recipe
from forge.core.errors import ConfigError, RegistryError
from forge.core.evaluator import ConfidenceInterval, evaluate_run, wilson_interval

SMALL = ["data.num_samples=256", "trainer.max_epochs=2", "trainer.log_every_n_steps=2"]
TINY = ["data.num_samples=128", "trainer.max_epochs=1", "trainer.log_every_n_steps=1"]


@pytest.fixture(autouse=True)
def core_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    ep = metadata.EntryPoint(name="core", value="forge.core._plugin", group="forge.plugins")
    reg = Registry(entry_points=[ep])
    monkeypatch.setattr(sys.modules["forge.core._registry"], "registry", reg)
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
    ):
        assert (run / name).is_file(), name
    lineage = json.loads((run / "lineage.json").read_text())
    assert lineage["dataset"]["fingerprint"] and len(lineage["config_hash"]) == 64
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["num_classes"] == 4  # filled in from the dataset's info
    assert config["trainer"]["name"] == "core.default" and config["callbacks"] == []
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
    assert (low, high) == pytest.approx(_wilson(report["accuracy"], report["samples"]))


def test_cli_train_and_eval(tmp_path: Path) -> None:
    from forge.core.cli._train import eval_command, train_command

    runner = CliRunner()
    out = runner.invoke(train_command, ["core/mlp", *SMALL, "--run-dir", str(tmp_path / "r")], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output[out.output.index("{") :])["run_dir"] == str(tmp_path / "r")
    ev = runner.invoke(eval_command, [str(tmp_path / "r"), "--which", "best"], catch_exceptions=False)
    assert ev.exit_code == 0, ev.output
    report = json.loads(ev.output[ev.output.index("{") :])
    assert report["which"] == "best" and 0.0 <= report["accuracy"] <= 1.0


def test_training_into_a_run_directory_is_refused_unless_overwrite(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run_recipe("core/mlp", TINY, run_dir=run)
    first_log = RunDir(run).read_log()
    with pytest.raises(ConfigError, match=r"run: already holds a run .*--resume .*--overwrite"):
        run_recipe("core/mlp", [*TINY, "optimizer.lr=0.002"], run_dir=run)
    assert RunDir(run).read_log() == first_log
    assert json.loads((run / "config.json").read_text())["optimizer"]["lr"] == 0.003

    run_recipe("core/mlp", [*TINY, "optimizer.lr=0.002"], run_dir=run, overwrite=True)
    assert json.loads((run / "config.json").read_text())["optimizer"]["lr"] == 0.002
    assert len(RunDir(run).read_log()) == len(first_log)  # one run's lines, not both runs'
    assert [p.name for p in (run / "checkpoints").iterdir() if p.is_dir()] == ["step-000002"]


@pytest.mark.parametrize(
    "override",
    [
        "model.name=core.nope",  # unknown model
        "data.name=core.nope",  # bad data section
        "data.num_samples=0",
        "model.num_classes=2",  # fails inside the first step: the data has four classes
    ],
)
def test_a_run_failing_before_its_first_step_leaves_no_run_directory(tmp_path: Path, override: str) -> None:
    with pytest.raises(Exception):  # noqa: B017  # each override fails its own way
        run_recipe("core/mlp", [*TINY, override], run_dir=tmp_path / "runs" / "new")
    assert not (tmp_path / "runs").exists()
    with pytest.raises(Exception):  # noqa: B017
        run_recipe("core/mlp", [*TINY, override], runs_root=tmp_path / "generated")
    assert not (tmp_path / "generated").exists()
    given = tmp_path / "empty"
    given.mkdir()
    with pytest.raises(Exception):  # noqa: B017
        run_recipe("core/mlp", [*TINY, override], run_dir=given)
    assert given.is_dir() and not any(given.iterdir())


def test_resuming_a_finished_run_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from forge.core.cli._train import train_command

    warnings: list[tuple[str, dict[str, Any]]] = []

    class Recorder:
        def warning(self, event: str, **fields: Any) -> None:
            warnings.append((event, fields))

    monkeypatch.setattr(_runner, "_log", Recorder())
    run = tmp_path / "run"
    assert not run_recipe("core/mlp", TINY, run_dir=run).already_finished
    resumed = resume_run(run)
    assert resumed.already_finished and resumed.fit.global_step == 2
    assert warnings[0][0] == "run.already_finished"
    assert "trainer.max_epochs=N" in warnings[0][1]["hint"]
    extended = resume_run(run, ["trainer.max_epochs=2"])
    assert not extended.already_finished and extended.fit.global_step == 4 and len(warnings) == 1

    out = CliRunner().invoke(train_command, ["--resume", str(run), "trainer.max_epochs=2"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert f"{run}: nothing was trained: the run had already finished (max_epochs)" in out.stderr
    assert f"forge train --resume {run} trainer.max_epochs=N" in out.stderr
    assert json.loads(out.stdout[out.stdout.index("{") :])["already_finished"] is True


def test_cli_train_refuses_a_used_run_dir_and_overwrite_replaces_it(tmp_path: Path) -> None:
    from forge.core.cli._train import train_command

    runner = CliRunner()
    run = str(tmp_path / "r")
    assert runner.invoke(train_command, ["core/mlp", *TINY, "--run-dir", run]).exit_code == 0
    refused = runner.invoke(train_command, ["core/mlp", *TINY, "--run-dir", run])
    assert isinstance(refused.exception, ConfigError) and "--overwrite" in str(refused.exception)
    replaced = runner.invoke(train_command, ["core/mlp", *TINY, "--run-dir", run, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    both = runner.invoke(train_command, ["--resume", run, "--overwrite"])
    assert both.exit_code == 2 and "--resume continues its own run directory" in both.output


def _wilson(accuracy: float, samples: int) -> tuple[float, float]:
    ci = wilson_interval(round(accuracy * samples), samples)
    return ci.lower, ci.upper


def test_each_component_is_resolved_once_and_built_from_its_config_object(
    tmp_path: Path, core_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    built: list[tuple[str, bool]] = []
    make_config, build = core_registry.make_config, core_registry.build

    def counting_make_config(kind: str, name: str, *args: Any, **kwargs: Any) -> Any:
        made.append(f"{kind}:{name}")
        return make_config(kind, name, *args, **kwargs)

    def recording_build(kind: str, name: str, config: Any = None, /, **overrides: Any) -> Any:
        built.append((f"{kind}:{name}", config is not None))
        return build(kind, name, config, **overrides)

    check = Recipe.check

    def check_then_count_from_here(self: Recipe) -> None:
        check(self)  # the pre-run check resolves every section too; the run itself counts from here
        made.clear()

    monkeypatch.setattr(core_registry, "make_config", counting_make_config)
    monkeypatch.setattr(core_registry, "build", recording_build)
    monkeypatch.setattr(Recipe, "check", check_then_count_from_here)
    run_recipe("core/mlp", ["data.num_samples=128", "trainer.max_epochs=1"], run_dir=tmp_path / "run")
    sections = [m for m in made if not m.startswith("callback:")]  # the trainer's own callbacks aside
    assert sorted(sections) == [
        "dataset:core.synthetic_classification",
        "loss:core.cross_entropy",
        "metric:core.accuracy",
        "model:core.mlp",
        "optimizer:core.adamw",
        "scheduler:core.warmup_cosine",
    ]
    assert [name for name, with_config in built if not with_config and not name.startswith("callback:")] == [
        "recipe:core.mlp"
    ]


def test_callbacks_section_attaches_registered_callbacks(tmp_path: Path) -> None:
    recipe = tmp_path / "lr.toml"
    recipe.write_text(
        Path(load_recipe("core/mlp").source).read_text()
        + '\n[[callbacks]]\nname = "core.lr_monitor"\nevery_n_steps = 1\n'
    )
    run_recipe(recipe, ["data.num_samples=128", "trainer.max_epochs=1"], run_dir=tmp_path / "run")
    log = RunDir(tmp_path / "run").read_log()
    assert sum("lr/group0" in r for r in log) == max(int(r["step"]) for r in log if "lr/group0" in r) > 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["callbacks"] == [{"name": "core.lr_monitor", "every_n_steps": 1}]


def test_unknown_callback_or_trainer_is_an_error_naming_its_section() -> None:
    with pytest.raises(RegistryError, match=r"callbacks\[0\]: no callback named 'nope'"):
        load_recipe("core/mlp", ["callbacks=[nope]"]).with_num_classes(4).validate()
    with pytest.raises(RegistryError, match=r"trainer\.name: no trainer named 'nope'"):
        load_recipe("core/mlp", ["trainer.name=nope"]).with_num_classes(4).validate()
    with pytest.raises(ConfigError, match=r"callbacks\[0\]\.name: required"):
        load_recipe("core/mlp", ["callbacks=[{every_n_steps: 2}]"])


def test_evaluate_run_scores_the_recipes_own_metrics(tmp_path: Path) -> None:
    metrics = "metrics=[core.accuracy, {name: core.f1, average: macro}]"
    run_recipe("core/mlp", ["data.num_samples=256", "trainer.max_epochs=1", metrics], run_dir=tmp_path / "run")
    report = evaluate_run(tmp_path / "run", confidence=0.9)
    trained = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert report["accuracy"] == pytest.approx(trained["test/accuracy"])
    assert report["f1"] == pytest.approx(trained["test/f1"])
    assert report["f1_ci"][0] <= report["f1"] <= report["f1_ci"][1]  # bootstrap interval
    assert report["loss"] == pytest.approx(trained["test/loss"], rel=1e-5)
    ci = wilson_interval(round(report["accuracy"] * report["samples"]), report["samples"], confidence=0.9)
    assert report["accuracy_ci"] == [ci.lower, ci.upper] and report["confidence"] == 0.9


def test_moved_names_warn_and_still_work() -> None:
    with pytest.warns(ForgeDeprecationWarning, match=r"forge\.core\.recipe\.run_recipe"):
        assert recipe_module.run_recipe is _runner.run_recipe
    with pytest.warns(ForgeDeprecationWarning, match=r"forge\.core\.run\.load_model"):
        assert run_module.load_model is _runner.load_model
    with pytest.warns(ForgeDeprecationWarning, match=r"forge\.core\.recipe\.evaluate_run"):
        assert recipe_module.evaluate_run is evaluate_run
    with pytest.warns(ForgeDeprecationWarning, match=r"forge\.core\.recipe\.wilson_interval"):
        old_wilson = recipe_module.wilson_interval
    ci = old_wilson(90, 100)  # now the evaluator's: a ConfidenceInterval instead of a (low, high) tuple
    assert isinstance(ci, ConfidenceInterval) and 0.82 < ci.lower < 0.83 and 0.94 < ci.upper < 0.95
    with pytest.raises(AttributeError):
        _ = recipe_module.no_such_name


@pytest.mark.parametrize(
    ("item", "where"),
    [
        ({"name": "core.random_crop", "size": [0]}, r"data\.transform\.transforms\[1\]\.size"),
        ({"name": "core.random_crop", "params": {"size": [0]}}, r"data\.transform\.transforms\[1\]\.params\.size"),
    ],
    ids=["flat", "params"],
)
def test_check_refuses_a_bad_transform_nested_in_a_section(item: dict[str, Any], where: str) -> None:
    ok = {"name": "core.random_hflip"}
    data = {"name": "core.synthetic_classification", "transform": {"name": "core.compose", "transforms": [ok, item]}}
    recipe = Recipe.from_dict(
        {"model": "core.mlp", "data": data, "loss": "core.cross_entropy", "optimizer": "core.sgd"}
    )
    with pytest.raises(ConfigError, match=where + r": expected each item to be a number > 0, got 0"):
        recipe.check()
