"""Bad configs are refused before anything runs, with the key path, the value and what was expected."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
import torch
from torch.utils.data import Dataset

from forge.core import config as cfg
from forge.core._recipe import load_recipe
from forge.core._runner import run_recipe
from forge.core.data._configs import LoaderConfig, SyntheticClassificationConfig
from forge.core.data._loader import build_loader
from forge.core.errors import ConfigError, DataError


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.input_shape=[0]", "data.input_shape: expected each item to be a number > 0, got 0 at index 0 of [0]"),
        ("optimizer.lr=inf", "optimizer.lr: expected a finite number, got inf"),
        ("optimizer.weight_decay=.inf", "optimizer.weight_decay: expected a finite number, got inf"),
        ("optimizer.lr=1e400", "optimizer.lr: expected a finite number, got inf"),
        ("seed=-1", "seed: expected an int in [0, 4294967295], got -1"),
        ("trainer.seed=4294967296", "trainer.seed: expected a number >= 0 and <= 4294967295, got 4294967296"),
        ("data.batch_size=0", "data.batch_size: expected a number > 0, got 0"),
        (
            "trainer.precision=fp64",
            "trainer.precision: expected one of 'fp32', 'bf16', 'fp16', got 'fp64' (did you mean 'fp16'?)",
        ),
        ("trainer.max_epochs=0x10", "trainer.max_epochs: expected int, got str '0x10'"),
        ("trainer.max_epochs=0b11", "trainer.max_epochs: expected int, got str '0b11'"),
        ("trainer.max_epochs=1_0", "trainer.max_epochs: expected int, got str '1_0'"),
        (
            "optimizer.implementation=fuse",
            "optimizer.implementation: expected one of 'auto', 'fused', 'foreach', 'for_loop', got 'fuse'",
        ),
        ("optimizer.betas=[0.9]", "optimizer.betas: expected a list of 2 items (tuple[float, float]), got 1: [0.9]"),
        ("trainer.ema.every=0", "trainer.ema.every: expected a number >= 1, got 0"),
        ("trainer.max_epochs=0", "trainer.max_epochs: expected a number >= 1, got 0"),
        ("trainer.grad_clip_norm=0", "trainer.grad_clip_norm: expected a number > 0, got 0.0"),
        ("trainer.ema.decay=1", "trainer.ema.decay: expected a number >= 0 and < 1, got 1.0"),
        ("trainer.checkpoint.keep_last=0", "trainer.checkpoint.keep_last: expected a number >= 1, got 0"),
        ("trainer.checkpoint.monitor=", "trainer.checkpoint.monitor: expected non-empty, got ''"),
        ("trainer.early_stopping.patience=-1", "trainer.early_stopping.patience: expected a number >= 0, got -1"),
        ("trainer.profiler.active=0", "trainer.profiler.active: expected a number >= 1, got 0"),
        ("trainer.progress_every_s=-1", "trainer.progress_every_s: expected a number >= 0, got -1.0"),
        ("optimizer.betas=[0.9, 1.0]", "optimizer.betas: expected each item to be a number >= 0 and < 1, got 1.0"),
        ("optimizer.eps=0", "optimizer.eps: expected a number > 0, got 0.0"),
        ("model.dropout=1", "model.dropout: expected a number >= 0 and < 1, got 1.0"),
        ("model.hidden=[8, 0]", "model.hidden: expected each item to be a number >= 1, got 0 at index 1"),
    ],
)
def test_a_bad_value_is_refused_before_the_run_directory_exists(tmp_path: Path, override: str, message: str) -> None:
    run_dir = tmp_path / "run"
    with pytest.raises(ConfigError) as info:
        run_recipe("core/mlp", [override], run_dir=run_dir)
    assert message in str(info.value)
    assert "invalid value for" not in str(info.value) and "Literal[" not in str(info.value)
    assert not run_dir.exists()


def test_an_unknown_data_key_lists_the_dataset_and_loader_keys_with_a_hint() -> None:
    with pytest.raises(ConfigError) as info:
        load_recipe("core/mlp", ["data.batch_sise=8"]).check()
    text = str(info.value)
    assert "data.batch_sise: unknown key (did you mean 'batch_size'?)" in text
    assert "core.synthetic_classification's keys: name, num_samples, input_shape" in text
    assert "loader keys: batch_size, num_workers" in text


def test_top_level_and_nested_typos_get_a_hint() -> None:
    with pytest.raises(ConfigError, match=r"sede: unknown key \(did you mean 'seed'\?\)"):
        load_recipe("core/mlp", ["sede=1"])
    with pytest.raises(ConfigError, match=r"trainer\.checkpoint\.keep_lst: unknown key \(did you mean 'keep_last'\?\)"):
        load_recipe("core/mlp", ["trainer.checkpoint.keep_lst=1"])


def test_two_metrics_with_one_short_name_are_refused(tmp_path: Path) -> None:
    recipe = tmp_path / "r.toml"
    text = Path(load_recipe("core/mlp").source).read_text(encoding="utf-8")
    recipe.write_text(
        text.replace('metrics = ["core.accuracy"]', 'metrics = ["core.accuracy", {name = "core.accuracy", top_k = 2}]'),
        encoding="utf-8",
    )
    with pytest.raises(
        ConfigError, match=r"metrics\[1\]: metric 'core.accuracy' would be reported as 'accuracy', like metrics\[0\]"
    ):
        load_recipe(recipe)


def test_override_values_are_read_by_the_field_type() -> None:
    read = cfg.read_value
    assert read("0x10", int) == "0x10" and read("16", int) == 16 and read("-3", int) == -3
    assert read("1e-3", float) == 0.001 and read("2", float) == 2.0
    assert read("null", int | None) is None and read("null", int) == "null"
    assert read("123", str) == "123" and read("yes", bool) == "yes" and read("True", bool) is True
    # Open types follow the YAML 1.2 core schema: hex stays an int, YAML 1.1's forms stay strings.
    assert read("[0x10, 0b11, 1_0, yes, 010]") == [16, "0b11", "1_0", "yes", 10]


def test_yaml_files_are_read_by_the_yaml_1_2_core_schema() -> None:
    data = cfg.loads("a: yes\nb: 010\nc: 1e-3\nd: on\ne: ~\n", "yaml")
    assert data == {"a": "yes", "b": 10, "c": 0.001, "d": "on", "e": None}


@pytest.mark.parametrize(
    ("fmt", "text", "where"),
    [
        ("json", '{"seed": 1,\n "seed": 2}', ":2:2: duplicate key 'seed'"),
        ("toml", "seed = 1\nseed = 2\n", ":2:9: duplicate key 'seed'"),
        ("toml", "[model]\nx = 1\n[model]\n", ":3:7: duplicate key 'model'"),
        ("yaml", "model:\n  x: 1\n  x: 2\n", ":3:3: duplicate key 'x'"),
    ],
)
def test_duplicated_keys_are_refused_naming_key_file_and_line(tmp_path: Path, fmt: str, text: str, where: str) -> None:
    path = tmp_path / f"r.{fmt}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        cfg.load_file(path)
    assert str(info.value).startswith(f"{path}{where}")


def test_oversized_config_files_are_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"x": "a" * cfg.MAX_CONFIG_BYTES}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"big\.json: \d+ bytes, larger than a config file may be"):
        cfg.load_file(path)


def test_declared_constraints_are_checked_and_described() -> None:
    assert cfg.Constraint(gt=0, le=1).describe() == "a number > 0 and <= 1"
    described = {f.name: f.constraint for f in cfg.describe(LoaderConfig)}
    assert described["batch_size"] == "a number > 0" and described["shuffle"] == ""
    constraint = attrs.fields(SyntheticClassificationConfig).input_shape.metadata["constraint"]
    assert constraint.describe() == "non-empty (a number > 0)"
    with pytest.raises(ConfigError, match=r"^data\.input_shape: expected non-empty \(a number > 0\), got \[\]$"):
        cfg.structure({"input_shape": []}, SyntheticClassificationConfig, where="data")
    with pytest.raises(ConfigError, match=r"val_fraction, test_fraction: together they must leave rows"):
        cfg.structure({"val_fraction": 0.5, "test_fraction": 0.5}, SyntheticClassificationConfig, where="data")
    with pytest.raises(ConfigError, match=r"^multiprocessing_context: expected one of 'fork', 'spawn', 'forkserver'"):
        LoaderConfig(multiprocessing_context="thread")


class _Failing(Dataset[torch.Tensor]):
    def __len__(self) -> int:
        return 6

    def __getitem__(self, index: int) -> torch.Tensor:
        if index == 4:
            raise DataError("table.csv:6: numeric column 'x' holds 'abc'")
        return torch.zeros(2)


@pytest.mark.parametrize("workers", [0, 1])
def test_a_data_error_in_a_loader_worker_reaches_the_user_alone(workers: int) -> None:
    loader = build_loader(_Failing(), LoaderConfig(batch_size=2, num_workers=workers, shuffle=False), seed=0)
    with pytest.raises(DataError) as info:
        list(loader)
    assert str(info.value) == "table.csv:6: numeric column 'x' holds 'abc'"


def _info(*args: str) -> str:
    from click.testing import CliRunner

    from forge.core.cli import cli

    result = CliRunner().invoke(cli, ["info", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_forge_info_shows_each_fields_declared_constraint() -> None:
    lines = _info("core.adamw").splitlines()
    header = next(line for line in lines if line.startswith("field"))
    assert header.split() == ["field", "type", "default", "valid", "help"]
    column = header.index("valid")
    rows = {line.split()[0]: line for line in lines[lines.index(header) + 2 :] if line.strip()}
    assert rows["lr"][column:].startswith("> 0 ") and rows["eps"][column:].startswith("> 0 ")
    assert rows["betas"][column:].startswith("each item >= 0 and < 1 ")
    assert rows["implementation"][column:].startswith("one of: 'auto', 'fused', 'foreach', 'for_loop' ")
    assert rows["amsgrad"][column:].startswith(" ")  # no constraint declared: the column is empty
    data = json.loads(_info("core.mlp", "--kind", "model", "--json"))
    fields = {f["name"]: f for f in data["fields"]}
    assert fields["dropout"]["constraint"] == "a number >= 0 and < 1"
    assert fields["hidden"]["constraint"] == "each item a number >= 1"
    assert "constraint" not in fields["norm"]


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        ("TrainerConfig", {"max_steps": 0}, "max_steps: expected a number >= 1, got 0"),
        ("TrainerConfig", {"precision": "fp64"}, "precision: expected one of 'fp32', 'bf16', 'fp16', got 'fp64'"),
        ("TrainerConfig", {"seed": -1}, "seed: expected a number >= 0 and <= 4294967295, got -1"),
        ("CheckpointConfig", {"keep_best": -1}, "keep_best: expected a number >= 0, got -1"),
        ("EarlyStoppingConfig", {"monitor": ""}, "monitor: expected non-empty, got ''"),
        ("ProfilerConfig", {"top_k": 0}, "top_k: expected a number >= 1, got 0"),
    ],
)
def test_trainer_configs_built_in_python_are_checked_too(cls: str, kwargs: dict[str, object], message: str) -> None:
    from forge.core.trainer import _config

    with pytest.raises(ConfigError) as info:
        getattr(_config, cls)(**kwargs)
    assert str(info.value).startswith(message)
