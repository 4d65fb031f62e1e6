"""Resuming with a longer run re-plans the learning-rate schedule, and the run directory records it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from forge.core import resume_run, run_recipe
from forge.core._run import RunDir
from forge.core.errors import CheckpointError
from forge.core.optim._configs import WarmupCosineConfig
from forge.core.optim._schedulers import build_warmup_cosine
from forge.core.trainer._config import TrainerConfig
from forge.core.trainer._trainer import Trainer

from .conftest import make_batches, make_model


class LrLog:
    """Records the learning rate each optimizer step used."""

    def __init__(self) -> None:
        self.lrs: dict[int, float] = {}

    def on_step_start(self, trainer: Trainer) -> None:
        assert trainer.optimizer is not None
        self.lrs[trainer.global_step + 1] = float(trainer.optimizer.param_groups[0]["lr"])


def _fit(run_dir: Path | None, epochs: int, *, resume: bool = False, factory: bool = True) -> LrLog:
    log = LrLog()
    cfg = TrainerConfig(max_epochs=epochs, val_every_n_epochs=None, progress=False, device="cpu")
    trainer = Trainer(cfg, callbacks=[log], run_dir=run_dir)
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    schedule = build_warmup_cosine(WarmupCosineConfig(warmup_steps=2))
    trainer.fit(
        model,
        make_batches(4),
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=opt,
        scheduler=schedule if factory else schedule(opt, 4 * epochs),
        resume_from=run_dir if resume else None,
    )
    return log


def test_extending_a_finished_run_replans_the_schedule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _fit(tmp_path / "run", 3)
    resumed = _fit(tmp_path / "run", 5, resume=True)
    # Epochs 4-5 train at the rates of a 5-epoch schedule at those steps, not at the 3-epoch one's final 0.
    planned = _fit(None, 5)
    assert sorted(resumed.lrs) == list(range(13, 21))
    assert all(resumed.lrs[s] > 0 for s in resumed.lrs)
    assert resumed.lrs == {s: planned.lrs[s] for s in range(13, 21)}
    err = capsys.readouterr()
    said = err.out + err.err
    assert "schedule_replanned" in said and "'trainer.max_epochs': [3, 5]" in said


def test_a_scheduler_given_built_is_kept_and_the_warning_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fit(tmp_path / "run", 2, factory=False)
    capsys.readouterr()
    _fit(tmp_path / "run", 3, resume=True, factory=False)
    said = "".join(capsys.readouterr())
    assert "schedule_not_replanned" in said and "factory" in said


def test_a_refused_resume_leaves_the_recorded_config_alone(tmp_path: Path) -> None:
    short = ["data.num_samples=256", "trainer.max_epochs=1", "trainer.progress=false"]
    run = run_recipe("core/mlp", short, run_dir=tmp_path / "mlp").run_dir
    before = (run / "config.json").read_text()
    with pytest.raises(CheckpointError, match="does not match"):
        resume_run(run, ["model.hidden=[8]", "trainer.max_epochs=2"])
    assert (run / "config.json").read_text() == before
    assert RunDir(run).config_history() == []


def test_resume_override_is_recorded_in_config_and_history(tmp_path: Path) -> None:
    short = ["data.num_samples=256", "trainer.max_epochs=2", "trainer.progress=false"]
    run = run_recipe("core/mlp", short, run_dir=tmp_path / "mlp").run_dir
    result = resume_run(run, ["trainer.max_epochs=3"])
    assert result.fit.epoch == 3 and not result.already_finished
    saved = RunDir(run).read_config()
    assert saved["trainer"]["max_epochs"] == 3  # config.json says what ran
    assert "max_epochs = 3" in (run / "config.toml").read_text()
    (entry,) = RunDir(run).config_history()
    assert (entry["reason"], entry["step"]) == ("resume", 8)
    assert entry["changes"] == {"trainer.max_epochs": [2, 3]}
    assert entry["config"]["trainer"]["max_epochs"] == 2
    # the step log's lr after the resume is not the finished schedule's final rate
    lrs = [r["lr"] for r in RunDir(run).read_log() if "lr" in r and 8 < r["step"] < 12]
    assert lrs and all(lr > 0 for lr in lrs)
    # resuming again without overrides changes nothing and records nothing
    again = resume_run(run)
    assert again.already_finished
    assert len(RunDir(run).config_history()) == 1
    assert json.loads((run / "config.json").read_text())["trainer"]["max_epochs"] == 3
