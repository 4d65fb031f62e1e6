"""Many short fits in one process do not grow resident memory (bound: 50 MiB after warm-up)."""

from __future__ import annotations

import gc
from pathlib import Path

import psutil
from torch import nn

from forge.core.trainer._config import CheckpointConfig, EMAConfig, TrainerConfig
from forge.core.trainer._trainer import Trainer

from .conftest import make_batches, make_model, sgd

BOUND_MIB = 50


def _fit(run_dir: Path | None) -> None:
    cfg = TrainerConfig(
        max_epochs=2,
        ema=EMAConfig(decay=0.9),
        log_every_n_steps=2,
        checkpoint=CheckpointConfig(every_n_epochs=1, keep_last=1),
    )
    Trainer(cfg, run_dir=run_dir).fit(
        make_model(), make_batches(4), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd(), val_loader=make_batches(1)
    )


def test_repeated_fits_do_not_leak(tmp_path: Path) -> None:
    proc = psutil.Process()
    for i in range(5):
        _fit(tmp_path / f"warm{i}")
    gc.collect()
    before = proc.memory_info().rss
    for i in range(40):
        _fit(tmp_path / f"run{i}" if i % 2 else None)
    gc.collect()
    grown_mib = (proc.memory_info().rss - before) / 2**20
    assert grown_mib < BOUND_MIB, f"RSS grew by {grown_mib:.1f} MiB over 40 fits"
