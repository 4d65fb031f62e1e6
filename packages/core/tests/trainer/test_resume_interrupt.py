"""Ctrl-C during ``fit``: the step in progress finishes, a checkpoint is saved, the error says how to resume."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from forge.core._run import find_checkpoint
from forge.core.data import LoaderConfig, build_loader
from forge.core.trainer._config import CheckpointConfig, TrainerConfig
from forge.core.trainer._trainer import Trainer, TrainingInterrupted

from .conftest import make_batches, make_model, sgd


@pytest.fixture(autouse=True)
def _ctrl_c_reaches_python() -> Any:
    """Python's own SIGINT handler, as in a terminal: a suite started in the background (``cmd &``
    from a script) inherits SIGINT ignored, and the Trainer leaves an ignored or custom handler alone."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class CtrlC:
    """Sends this process SIGINT ``times`` times during optimizer step ``step``."""

    def __init__(self, step: int, times: int = 1) -> None:
        self.step, self.times = step, times
        self.after: list[int] = []

    def on_before_optimizer_step(self, trainer: Trainer, optimizer: torch.optim.Optimizer) -> None:
        if trainer.global_step + 1 == self.step:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)

    def on_step_end(self, trainer: Trainer, loss: torch.Tensor) -> None:
        self.after.append(trainer.global_step)


def _fit(callback: CtrlC, run_dir: Path | None = None, **config: Any) -> Trainer:
    cfg = TrainerConfig(max_epochs=2, val_every_n_epochs=None, progress=False, device="cpu", **config)
    trainer = Trainer(cfg, run_dir=run_dir, callbacks=[callback])
    trainer.fit(make_model(), make_batches(6), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    return trainer


def test_ctrl_c_finishes_the_step_saves_and_says_how_to_resume(tmp_path: Path) -> None:
    callback = CtrlC(step=3)
    with pytest.raises(TrainingInterrupted) as info:
        _fit(callback, tmp_path)
    assert callback.after == [1, 2, 3]  # step 3 completed, step 4 never began
    assert info.value.step == 3 and info.value.epoch == 0
    ckpt = find_checkpoint(tmp_path, "last")
    assert ckpt.path == info.value.checkpoint
    assert ckpt.manifest["reason"] == "interrupted"
    assert ckpt.manifest["trainer"]["global_step"] == 3 and ckpt.manifest["trainer"]["batch_in_epoch"] == 3
    assert "resume_from=" in str(info.value) and str(tmp_path) in str(info.value)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_checkpoint_of_that_step_is_not_written_twice(tmp_path: Path) -> None:
    every_2 = CheckpointConfig(every_n_steps=2, every_n_epochs=None, keep_last=5, monitor=None, keep_best=0)
    with pytest.raises(TrainingInterrupted) as info:
        _fit(CtrlC(step=4), tmp_path, checkpoint=every_2)
    ckpt = find_checkpoint(tmp_path, "last")
    assert ckpt.path == info.value.checkpoint and ckpt.manifest["reason"] == "periodic"
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*")) == ["step-000002", "step-000004"]


def test_without_a_run_directory_nothing_is_saved_and_the_message_says_so() -> None:
    with pytest.raises(TrainingInterrupted, match="no checkpoint was saved") as info:
        _fit(CtrlC(step=2))
    assert info.value.checkpoint is None and info.value.step == 2


def test_a_second_ctrl_c_stops_at_once() -> None:
    callback = CtrlC(step=2, times=2)
    with pytest.raises(KeyboardInterrupt) as info:
        _fit(callback)
    assert not isinstance(info.value, TrainingInterrupted)
    assert callback.after == [1]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class TerminalCtrlC(torch.utils.data.TensorDataset):
    """Slow samples read in a worker; reading sample ``at`` is Ctrl-C from a terminal, which reaches the
    training process and its DataLoader workers alike (a spawned worker exits on it)."""

    at = 24

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        time.sleep(0.01)  # the trainer waits for data, as when Ctrl-C usually arrives
        if index == self.at:
            os.kill(os.getppid(), signal.SIGINT)
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGINT)
        return super().__getitem__(index)


def test_ctrl_c_that_also_stops_loader_workers_still_saves(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    data = TerminalCtrlC(torch.randn(64, 6, generator=g), torch.randint(0, 3, (64,), generator=g))
    # spawned workers start with Python's Ctrl-C handler (forked ones inherit the trainer's and live on)
    config = LoaderConfig(
        batch_size=8,
        num_workers=1,
        prefetch_factor=1,
        shuffle=False,
        persistent_workers=True,
        multiprocessing_context="spawn",
    )
    loader = build_loader(data, config, seed=0)
    cfg = TrainerConfig(max_epochs=2, val_every_n_epochs=None, progress=False, device="cpu")
    trainer = Trainer(cfg, run_dir=tmp_path)
    with pytest.raises(TrainingInterrupted) as info:
        trainer.fit(make_model(), loader, loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    # Either the worker died first (the loader fails fetching batch 4, the cause is that RuntimeError)
    # or the trainer saw the flag first: both ways the whole steps are saved and resumable.
    assert info.value.__cause__ is None or isinstance(info.value.__cause__, RuntimeError)
    assert info.value.checkpoint is not None and 1 <= info.value.step <= 3
    state = find_checkpoint(tmp_path, "last").manifest["trainer"]
    assert state["global_step"] == info.value.step == state["batch_in_epoch"]
    assert state["loader"] == {"epoch": 0, "index": 8 * info.value.step}
