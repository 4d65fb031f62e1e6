"""Damaged run-directory files are named, with what can still be done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from forge.core._checkpoint import CheckpointManager, read_index
from forge.core._recipe import load_recipe
from forge.core._run import RunDir, find_checkpoint
from forge.core._runner import saved_recipe
from forge.core.errors import CheckpointError


def _run(tmp_path: Path) -> RunDir:
    run = RunDir(tmp_path / "run")
    run.write_config(load_recipe("core/mlp").with_num_classes(4).to_dict())
    manager = CheckpointManager(run.checkpoints_dir, keep_last=None, monitor="val/acc", mode="max")
    for step, acc in ((1, 0.7), (2, 0.6)):
        state = {
            "trainer": {"latest_metrics": {"val/acc": acc}},
            "trainer_config": {"checkpoint": {"monitor": "val/acc", "mode": "max"}},
        }
        manager.save(step, {"model": {"w": torch.zeros(1)}}, state, {"val/acc": acc})
    return run


def test_a_truncated_config_json_says_how_to_restore_it(tmp_path: Path) -> None:
    run = _run(tmp_path)
    config = run.path / "config.json"
    config.write_text(config.read_text(encoding="utf-8")[:40], encoding="utf-8")
    with pytest.raises(CheckpointError) as info:
        saved_recipe(run)
    text = str(info.value)
    assert text.startswith(f"{config}:") and "cannot be resumed until config.json is restored" in text
    assert f"forge config show {run.path / 'config.toml'} -o {config}" in text
    (run.path / "config.toml").write_text("[model\n", encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"recipe is lost and the run cannot be resumed.*forge eval"):
        saved_recipe(run)


def test_a_damaged_index_is_refused_then_rebuilt_with_monitor_mode_and_metrics(tmp_path: Path) -> None:
    run = _run(tmp_path)
    index = run.checkpoints_dir / "index.json"
    for damage in ('{"checkpoints": [', '{"checkpoints": [{"step": "x", "name": "step-000001"}]}', "[]"):
        index.write_text(damage, encoding="utf-8")
        with pytest.raises(
            CheckpointError,
            match=r"index\.json is damaged .*forge checkpoints rebuild-index .*CheckpointManager\.rebuild_index",
        ):
            find_checkpoint(run.path, "best")
    CheckpointManager.rebuild_index(run.path)
    rebuilt = read_index(index)
    assert (rebuilt["monitor"], rebuilt["mode"]) == ("val/acc", "max")
    assert find_checkpoint(run.path, "best").path.name == "step-000001"  # the higher val/acc
    assert json.loads((run.checkpoints_dir / "index.json.damaged").read_text(encoding="utf-8")) == []


def test_log_lines_cut_short_at_the_end_are_skipped_and_damage_before_is_named(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.log_path.write_text('{"step": 1}\n{"step": 2}\n{"st', encoding="utf-8")
    assert run.read_log() == [{"step": 1}, {"step": 2}]
    run.log_path.write_text('{"step": 1}\n{"st\n{"step": 3}\n', encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"log\.jsonl:2: damaged line .*move the file aside"):
        run.read_log()
