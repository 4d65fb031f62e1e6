"""The run directory: new runs never mix with old ones, step log, checkpoint fallback, config hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from forge.core._run import RunDir, config_hash, find_checkpoint
from forge.core.errors import CheckpointError, ConfigError
from forge.core.trainer._config import CheckpointConfig, EMAConfig, TrainerConfig
from forge.core.trainer._trainer import Trainer


def _train(run_dir: Path) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    g = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 4, generator=g), torch.randint(0, 2, (8,), generator=g)) for _ in range(3)]
    cfg = TrainerConfig(
        device="cpu",
        max_epochs=3,
        val_every_n_epochs=None,
        ema=EMAConfig(decay=0.5),
        checkpoint=CheckpointConfig(every_n_epochs=1, keep_last=3, monitor=None, keep_best=0),
    )
    Trainer(cfg, run_dir=run_dir).fit(
        model, batches, loss_fn=nn.CrossEntropyLoss(), optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=0.1)
    )
    return model


def test_step_log_round_trips(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    run.log_step({"step": 1, "train/loss": 0.5})
    run.log_step({"step": 2, "train/loss": 0.25})
    run.close()
    assert RunDir(tmp_path).read_log() == [{"step": 1, "train/loss": 0.5}, {"step": 2, "train/loss": 0.25}]


def test_last_checkpoint_holds_final_weights_and_ema(tmp_path: Path) -> None:
    model = _train(tmp_path)
    ckpt = find_checkpoint(tmp_path, "last")
    assert ckpt.manifest["trainer"]["global_step"] == 9
    for k, v in model.state_dict().items():
        assert torch.equal(ckpt.groups["model"][k], v)
    assert set(ckpt.groups["callbacks"]["ema"]["weights"]) == {"weight", "bias"}
    assert {"model", "optimizer", "rng", "callbacks"} <= set(ckpt.groups)


def test_corrupted_newest_checkpoint_falls_back_to_previous(tmp_path: Path) -> None:
    _train(tmp_path)
    newest = tmp_path / "checkpoints" / "step-000009" / "model.safetensors"
    newest.write_bytes(newest.read_bytes()[:-8])
    assert find_checkpoint(tmp_path, "last").manifest["trainer"]["global_step"] == 6
    with pytest.raises(CheckpointError):
        find_checkpoint(tmp_path / "checkpoints" / "step-000009")
    with pytest.raises(CheckpointError, match="no such run"):
        find_checkpoint(tmp_path / "nope")


def test_config_hash_is_order_independent() -> None:
    assert config_hash({"a": 1, "b": {"c": 2}}) == config_hash({"b": {"c": 2}, "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_new_run_refuses_a_directory_holding_a_run_unless_overwrite_empties_it(tmp_path: Path) -> None:
    _train(tmp_path / "old")
    with pytest.raises(ConfigError, match=r"old: already holds a run .*--resume .*--overwrite .*another --run-dir"):
        RunDir.new(tmp_path / "old")
    assert (tmp_path / "old" / "checkpoints" / "index.json").exists()  # refused: nothing touched
    run = RunDir.new(tmp_path / "old", overwrite=True)
    assert [p.name for p in run.path.iterdir()] == ["checkpoints"] and not any(run.checkpoints_dir.iterdir())


def test_overwrite_never_deletes_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "checkpoints").mkdir()
    for overwrite in (False, True):
        with pytest.raises(ConfigError, match=r"not a forge run directory \(found checkpoints/, notes.txt\)"):
            RunDir.new(tmp_path, overwrite=overwrite)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_new_run_accepts_an_empty_directory_and_discard_restores_it(tmp_path: Path) -> None:
    RunDir.new(tmp_path).discard()
    assert tmp_path.is_dir() and not any(tmp_path.iterdir())
    run = RunDir.new(tmp_path / "a" / "b")
    run.log_step({"step": 1})
    run.discard()  # removes the directories it made, parents included
    assert not any(tmp_path.iterdir())
    generated = RunDir.new(root=tmp_path / "runs", name="core/mlp")
    assert generated.path.parent == tmp_path / "runs" and "core-mlp" in generated.path.name
    generated.discard()
    assert not (tmp_path / "runs").exists()


def test_industrial_run_records_that_it_is_deterministic(tmp_path: Path) -> None:
    from forge.core import run_recipe

    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        overrides = ["mode=industrial", "data.num_samples=128", "trainer.max_epochs=1", "trainer.progress=false"]
        run = run_recipe("core/mlp", overrides, run_dir=tmp_path / "run").run_dir
    finally:
        torch.use_deterministic_algorithms(before)
    environment = json.loads((run / "environment.json").read_text())
    assert environment["deterministic"] is True
