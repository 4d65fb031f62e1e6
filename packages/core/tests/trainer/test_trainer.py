"""The Trainer's public face: its registered builder, deprecated names, what it tells callbacks."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from torch import nn

from forge.core._deprecated import ForgeDeprecationWarning
from forge.core.trainer import _trainer as trainer_module
from forge.core.trainer._catalog import register_trainers
from forge.core.trainer._config import TrainerConfig
from forge.core.trainer._trainer import Trainer

from .conftest import make_batches, make_model, sgd


def test_core_default_builder_is_the_trainer_class_with_the_trainer_contract(tmp_path: Path) -> None:
    registered: dict[str, dict[str, Any]] = {}
    register_trainers(lambda name, **spec: registered.update({name: spec}))
    module, _, name = registered["default"]["builder"].partition(":")
    builder = getattr(importlib.import_module(module), name)
    assert builder is Trainer
    mine = object()
    trainer = builder(TrainerConfig(max_epochs=1), callbacks=[mine], run_dir=tmp_path)
    assert trainer.run_dir is not None and trainer.run_dir.path == tmp_path and trainer.checkpoints is not None


def test_build_trainer_is_a_deprecated_alias_that_still_builds() -> None:
    with pytest.warns(ForgeDeprecationWarning, match=r"forge\.core\.trainer\.trainer\.build_trainer"):
        build_trainer = trainer_module.build_trainer
    assert isinstance(build_trainer(TrainerConfig(max_epochs=1)), Trainer)
    with pytest.raises(AttributeError):
        _ = trainer_module.no_such_name


def test_steps_per_epoch_is_public_and_known_with_max_steps_too() -> None:
    trainer = Trainer(TrainerConfig(max_steps=2, accumulate_grad_batches=2, val_every_n_epochs=None))
    assert trainer.steps_per_epoch is None
    trainer.fit(make_model(), make_batches(5), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    assert trainer.steps_per_epoch == 3 and trainer.global_step == 2
    unsized = Trainer(TrainerConfig(max_steps=1, val_every_n_epochs=None))
    unsized.fit(make_model(), iter(make_batches(2)), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    assert unsized.steps_per_epoch is None
