"""Early stopping on a logged metric with mode, patience and min_delta."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from forge.core.errors import ConfigError
from forge.core.trainer._config import EarlyStoppingConfig, TrainerConfig
from forge.core.trainer._trainer import Trainer
from forge.core.trainer.callbacks import EarlyStopping

from .conftest import make_batches, make_model, sgd


def test_stops_after_patience_validations_without_improvement() -> None:
    # lr=0: the validation loss never changes, so only the first validation "improves".
    cfg = TrainerConfig(max_epochs=20, early_stopping=EarlyStoppingConfig(monitor="val/loss", patience=2))
    trainer = Trainer(cfg)
    result = trainer.fit(
        make_model(), make_batches(2), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd(0.0), val_loader=make_batches(1)
    )
    assert result.stop_reason == "early_stopping"
    assert result.epoch == 3
    assert len(result.history) == 3


def test_improving_metric_does_not_stop() -> None:
    cfg = TrainerConfig(max_epochs=4, early_stopping=EarlyStoppingConfig(monitor="val/loss", patience=1))
    train = make_batches(4)
    result = Trainer(cfg).fit(make_model(), train, loss_fn=nn.CrossEntropyLoss(), optimizer=sgd(0.05), val_loader=train)
    assert result.stop_reason == "max_epochs"
    assert result.epoch == 4


def test_min_delta_and_max_mode() -> None:
    es = EarlyStopping("val/acc", mode="max", patience=1, min_delta=0.1)
    assert es.improved(0.5)
    es.best = 0.5
    assert not es.improved(0.55)
    assert es.improved(0.65)


def test_missing_metric_is_an_error_in_strict_mode() -> None:
    cfg = TrainerConfig(max_epochs=2, mode="industrial", early_stopping=EarlyStoppingConfig(monitor="val/f1"))
    with pytest.raises(ConfigError, match="val/f1"):
        Trainer(cfg).fit(
            make_model(), make_batches(2), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd(), val_loader=make_batches(1)
        )
    torch.use_deterministic_algorithms(False)
