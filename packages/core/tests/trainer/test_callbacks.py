"""The documented order of training events, and dispatch only to callbacks implementing a hook."""

from __future__ import annotations

import ast
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

import forge.core.trainer.callbacks as callbacks_package
from forge.core.trainer._config import CheckpointConfig, EarlyStoppingConfig, EMAConfig, ProfilerConfig, TrainerConfig
from forge.core.trainer._events import HOOK_NAMES, CallbackManager, callback_hook
from forge.core.trainer._trainer import Trainer
from forge.core.trainer.callbacks import (
    CheckpointCallback,
    EarlyStopping,
    EMACallback,
    ProfilerCallback,
    ProgressCallback,
    default_callbacks,
)

from .conftest import make_batches, make_model, sgd


class Recorder:
    def __init__(self, tag: str = "", log: list[str] | None = None) -> None:
        self.tag = tag
        self.log: list[str] = [] if log is None else log

    def _rec(self, name: str) -> None:
        self.log.append(f"{self.tag}{name}")

    def on_train_start(self, trainer: Trainer) -> None:
        self._rec("train_start")

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        self._rec(f"epoch_start{epoch}")

    def on_step_start(self, trainer: Trainer) -> None:
        self._rec("step_start")

    def on_before_backward(self, trainer: Trainer, loss: torch.Tensor) -> None:
        self._rec("before_backward")

    def on_after_backward(self, trainer: Trainer) -> None:
        self._rec("after_backward")

    def on_before_optimizer_step(self, trainer: Trainer, optimizer: torch.optim.Optimizer) -> None:
        self._rec("before_optimizer_step")

    def on_step_end(self, trainer: Trainer, loss: torch.Tensor) -> None:
        self._rec(f"step_end{trainer.global_step}")

    def on_validation_start(self, trainer: Trainer) -> None:
        self._rec("validation_start")

    def on_evaluation_start(self, trainer: Trainer) -> None:
        self._rec("evaluation_start")

    def on_evaluation_end(self, trainer: Trainer) -> None:
        self._rec("evaluation_end")

    def on_validation_end(self, trainer: Trainer, metrics: Mapping[str, float]) -> None:
        self._rec("validation_end")

    def on_epoch_end(self, trainer: Trainer, epoch: int) -> None:
        self._rec(f"epoch_end{epoch}")

    def on_save_checkpoint(self, trainer: Trainer, state: MutableMapping[str, Any]) -> None:
        self._rec("save_checkpoint")

    def on_load_checkpoint(self, trainer: Trainer, state: Mapping[str, Any]) -> None:
        self._rec("load_checkpoint")

    def on_exception(self, trainer: Trainer, exception: BaseException) -> None:
        self._rec(f"exception:{type(exception).__name__}")

    def on_train_end(self, trainer: Trainer) -> None:
        self._rec("train_end")


def test_every_hook_is_specified() -> None:
    assert set(HOOK_NAMES) == {n for n in dir(Recorder) if n.startswith("on_")}


def test_event_order_with_accumulation_validation_and_checkpoints(tmp_path: Path) -> None:
    rec = Recorder()
    cfg = TrainerConfig(
        max_epochs=2,
        accumulate_grad_batches=2,
        val_every_n_steps=2,
        val_every_n_epochs=1,
        checkpoint=CheckpointConfig(every_n_steps=None, every_n_epochs=1, monitor=None, keep_best=0),
    )
    Trainer(cfg, callbacks=[rec], run_dir=tmp_path).fit(
        make_model(), make_batches(4), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd(), val_loader=make_batches(1)
    )
    micro = ["before_backward", "after_backward"]
    step = ["step_start", *micro, *micro, "before_optimizer_step"]
    expected = ["train_start"]
    for epoch, (s1, s2) in enumerate(((1, 2), (3, 4))):
        expected += [
            f"epoch_start{epoch}",
            *step,
            f"step_end{s1}",
            *step,
            f"step_end{s2}",
            "validation_start",
            "evaluation_start",
            "evaluation_end",
            "validation_end",  # every 2 steps (the epoch-end one would repeat it)
            f"epoch_end{epoch}",
            "save_checkpoint",
        ]
    expected += ["train_end"]
    assert rec.log == expected


def test_resume_fires_load_before_train_start(tmp_path: Path) -> None:
    cfg = TrainerConfig(
        max_epochs=1, val_every_n_epochs=None, checkpoint=CheckpointConfig(every_n_epochs=1, monitor=None, keep_best=0)
    )
    Trainer(cfg, run_dir=tmp_path).fit(make_model(), make_batches(2), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    rec = Recorder()
    cfg2 = TrainerConfig(
        max_epochs=2, val_every_n_epochs=None, checkpoint=CheckpointConfig(every_n_epochs=1, monitor=None, keep_best=0)
    )
    Trainer(cfg2, run_dir=tmp_path, callbacks=[rec]).fit(
        make_model(), make_batches(2), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd(), resume_from=tmp_path
    )
    assert rec.log[:3] == ["load_checkpoint", "train_start", "epoch_start1"]


def test_callbacks_run_in_given_order_and_exception_is_reported() -> None:
    shared: list[str] = []
    a, b = Recorder("a:", shared), Recorder("b:", shared)

    def boom(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("broken loss")

    try:
        Trainer(TrainerConfig(max_epochs=1), callbacks=[a, b]).fit(
            make_model(), make_batches(1), loss_fn=boom, optimizer=sgd()
        )
    except RuntimeError as exc:
        assert "broken loss" in str(exc)
    else:
        raise AssertionError("the loss error was swallowed")
    assert shared[:2] == ["a:train_start", "b:train_start"]
    assert shared[-4:] == ["a:exception:RuntimeError", "b:exception:RuntimeError", "a:train_end", "b:train_end"]


def test_tryfirst_marker_and_unimplemented_hooks_are_not_dispatched() -> None:
    log: list[str] = []

    class Late:
        def on_train_start(self, trainer: Trainer) -> None:
            log.append("late")

    class Early:
        @callback_hook(tryfirst=True)
        def on_train_start(self, trainer: Trainer) -> None:
            log.append("early")

    manager = CallbackManager()
    for cb in reversed([Late(), Early()]):
        manager.register(cb)
    manager.hook.on_train_start(trainer=None)
    assert log == ["early", "late"]
    assert not manager.implements("on_step_end")
    # progress=False: off a terminal the default progress lines implement on_step_end
    trainer = Trainer(TrainerConfig(max_epochs=1, val_every_n_epochs=None, progress=False), callbacks=[Late()])
    trainer.fit(make_model(), make_batches(1), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    assert trainer._h_step_end is None and trainer._h_before_bw is None


def test_evaluation_hooks_wrap_every_pass_also_after_fit_and_when_it_fails() -> None:
    rec = Recorder()
    trainer = Trainer(TrainerConfig(max_epochs=1, val_every_n_epochs=None, progress=False), callbacks=[rec])
    trainer.fit(make_model(), make_batches(2), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    rec.log.clear()
    assert "val/loss" in trainer.validate(make_batches(1))
    assert rec.log == ["evaluation_start", "evaluation_end"]
    rec.log.clear()
    wrong_width = [(torch.zeros(2, 5), torch.zeros(2, dtype=torch.long))]
    with pytest.raises(RuntimeError):
        trainer.validate(wrong_width)
    assert rec.log == ["evaluation_start", "evaluation_end"]


def test_default_callbacks_surround_the_users_in_the_documented_order(tmp_path: Path) -> None:
    cfg = TrainerConfig(
        max_epochs=1, ema=EMAConfig(), profiler=ProfilerConfig(), early_stopping=EarlyStoppingConfig(), progress=True
    )
    mine = Recorder()
    made = default_callbacks(cfg, run_dir=tmp_path, checkpoints=True, is_main_process=True, user_callbacks=[mine])
    kinds = [EMACallback, ProfilerCallback, Recorder, EarlyStopping, CheckpointCallback, ProgressCallback]
    assert [type(cb) for cb in made] == kinds and made[2] is mine
    assert made[1].output_dir == tmp_path / "profile"
    # No run directory: no profiler; no checkpoints: no checkpoint callback; other ranks: no bar.
    assert [type(cb) for cb in default_callbacks(cfg, is_main_process=False)] == [EMACallback, EarlyStopping]


def test_callbacks_read_no_private_trainer_attribute() -> None:
    folder = Path(callbacks_package.__file__).parent
    for source in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "trainer":
                assert not node.attr.startswith("_"), f"{source.name}:{node.lineno} reads trainer.{node.attr}"
