"""Checkpoint save and resume of a run, through the checkpoint manager the Trainer is handed."""

from __future__ import annotations

from pathlib import Path

import pytest
from torch import nn

from forge.core._checkpoint import CheckpointManager, load_checkpoint
from forge.core.errors import CheckpointError
from forge.core.trainer._checkpointing import make_manager
from forge.core.trainer._config import CheckpointConfig, TrainerConfig
from forge.core.trainer._trainer import Trainer

from .conftest import make_batches, make_model, sgd

EVERY_EPOCH = CheckpointConfig(every_n_epochs=1, monitor=None, keep_best=0)


def test_make_manager_applies_the_checkpoint_configs_retention(tmp_path: Path) -> None:
    ranked = make_manager(tmp_path / "a", CheckpointConfig(keep_last=3, keep_best=2, monitor="val/acc", mode="max"))
    assert (ranked.root, ranked.keep_last, ranked.keep_best) == (tmp_path / "a", 3, 2)
    assert (ranked.monitor, ranked.mode) == ("val/acc", "max")
    assert make_manager(tmp_path / "b", CheckpointConfig(keep_best=2, monitor=None)).keep_best == 0


def test_run_dir_checkpoints_go_through_its_manager_and_no_trainer_json(tmp_path: Path) -> None:
    keep_two = CheckpointConfig(every_n_epochs=1, keep_last=2)
    cfg = TrainerConfig(max_epochs=3, val_every_n_epochs=None, checkpoint=keep_two)
    trainer = Trainer(cfg, run_dir=tmp_path)
    assert trainer.checkpoints is not None and trainer.checkpoints.root == tmp_path / "checkpoints"
    trainer.fit(make_model(), make_batches(2), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    assert [e.step for e in trainer.checkpoints.entries] == [4, 6]
    manifest = load_checkpoint(tmp_path / "checkpoints" / "step-000006").manifest
    assert manifest["reason"] == "epoch_end" and manifest["trainer"]["global_step"] == 6
    assert manifest["trainer_config"]["max_epochs"] == 3
    # The run directory has one writer per file: the trainer config is the runner's config.json.
    assert (tmp_path / "log.jsonl").is_file() and not (tmp_path / "trainer.json").exists()


def test_a_handed_manager_receives_checkpoints_without_a_run_dir_and_resumes(tmp_path: Path) -> None:
    manager = CheckpointManager(tmp_path / "elsewhere", keep_last=1)
    cfg = TrainerConfig(max_epochs=2, val_every_n_epochs=None, checkpoint=EVERY_EPOCH)
    trainer = Trainer(cfg, checkpoints=manager)
    trainer.fit(make_model(), make_batches(2), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    assert trainer.run_dir is None and [e.step for e in manager.entries] == [4]
    resumed = Trainer(TrainerConfig(max_epochs=3, val_every_n_epochs=None, checkpoint=EVERY_EPOCH))
    result = resumed.fit(
        make_model(), make_batches(2), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd(), resume_from=manager.latest()
    )
    assert result.global_step == 6 and resumed.checkpoints is None
    assert resumed.save_checkpoint() is None  # nowhere to write


def test_checkpoint_state_before_fit_is_an_error_naming_the_call() -> None:
    trainer = Trainer(TrainerConfig(max_epochs=1))
    with pytest.raises(CheckpointError, match=r"Trainer\.load_checkpoint: .*call fit\(\) first"):
        trainer.load_checkpoint("anywhere")
    with pytest.raises(CheckpointError, match=r"Trainer\.state_groups: .*call fit\(\) first"):
        trainer.state_groups()
