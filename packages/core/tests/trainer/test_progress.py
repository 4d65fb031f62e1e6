"""Training you can watch: start banner, compiling line, throughput, progress, one spelling of log keys."""

from __future__ import annotations

import io
import json
import math
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from forge.core import _logging as flog
from forge.core._run import RunDir
from forge.core.trainer._config import TrainerConfig
from forge.core.trainer._trainer import Trainer

from .conftest import make_model, sgd

STEPS_PER_EPOCH = 4


@pytest.fixture
def events() -> Iterator[io.StringIO]:
    """forge's log output as JSON lines in a buffer; the default configuration is restored afterwards."""
    out = io.StringIO()
    flog.configure_logging(fmt="json", level="info", stream=out)
    yield out
    flog.configure_logging()


def _events(out: io.StringIO, name: str | None = None) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    return [e for e in lines if name is None or e["event"] == name]


def _loader(n: int = 32, batch: int = 8) -> DataLoader[Any]:
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g))
    return DataLoader(data, batch_size=batch)


def _fit(config: TrainerConfig, run_dir: Path | None = None, **kwargs: Any) -> Trainer:
    trainer = Trainer(config, run_dir=run_dir)
    trainer.fit(make_model(), _loader(), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd(), **kwargs)
    return trainer


def test_log_keys_epochs_and_timestamps_are_the_same_everywhere(tmp_path: Path, events: io.StringIO) -> None:
    cfg = TrainerConfig(max_epochs=2, log_every_n_steps=3, progress=False, device="cpu")
    _fit(cfg, tmp_path, val_loader=_loader(16))
    console = [e for e in _events(events) if e["event"] in ("train_step", "validation")]
    records = RunDir(tmp_path).read_log()
    assert {e["event"] for e in console} == {"train_step", "validation"}
    # the console, the JSON log and metrics.json share one spelling: "train/loss", "val/loss"
    assert all("train/loss" in e for e in console if e["event"] == "train_step")
    assert all("val/loss" in e for e in console if e["event"] == "validation")
    assert not [k for e in console for k in e if k.endswith("_loss")]
    assert [{k: v for k, v in e.items() if k not in ("event", "logger", "level", "timestamp")} for e in console] == [
        {k: v for k, v in r.items() if k != "time"} for r in records
    ]
    # epochs are counted from 1 in every line: the epoch a step belongs to, or just completed
    for line in [*console, *records]:
        assert line["epoch"] == math.ceil(line["step"] / STEPS_PER_EPOCH), line
    assert all("timestamp" in e for e in _events(events))
    assert all(isinstance(r["time"], float) for r in records)


def test_step_lines_carry_throughput_and_epoch_time(tmp_path: Path, events: io.StringIO) -> None:
    cfg = TrainerConfig(max_epochs=1, log_every_n_steps=2, progress=False, device="cpu")
    trainer = _fit(cfg, tmp_path)
    steps = [r for r in RunDir(tmp_path).read_log() if "train/loss" in r]
    assert [r["step"] for r in steps] == [2, 4]
    assert all(r["samples_per_s"] > 0 and r["epoch_time_s"] >= 0 for r in steps)
    assert all("tokens_per_s" not in r for r in steps)  # float inputs hold no tokens
    assert trainer.samples_seen == 32 and trainer.tokens_seen == 0


class TokenModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.head = nn.Linear(8, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.embed(ids).mean(dim=1))
        return out


def test_token_batches_report_tokens_per_second(tmp_path: Path, events: io.StringIO) -> None:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 50, (24, 5), generator=g)
    loader = DataLoader(TensorDataset(ids, torch.randint(0, 3, (24,), generator=g)), batch_size=8)
    trainer = Trainer(TrainerConfig(max_epochs=1, log_every_n_steps=3, progress=False, device="cpu"), run_dir=tmp_path)
    trainer.fit(TokenModel(), loader, loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    (record,) = [r for r in RunDir(tmp_path).read_log() if "train/loss" in r]
    assert record["tokens_per_s"] > record["samples_per_s"] > 0
    assert (trainer.samples_seen, trainer.tokens_seen) == (24, 24 * 5)


def test_start_banner_then_compiling_line(tmp_path: Path, events: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []

    def fake_compile(model: nn.Module, mode: str | None = None) -> nn.Module:
        compiled.append(str(mode))
        return model

    monkeypatch.setattr(torch, "compile", fake_compile)
    cfg = TrainerConfig(max_epochs=1, compile="default", progress=False, device="cpu")
    _fit(cfg, tmp_path, val_loader=_loader(16))
    names = [e["event"] for e in _events(events)]
    assert compiled == ["default"]
    assert names.index("train_start") < names.index("compiling") < names.index("train_step")
    (banner,) = _events(events, "train_start")
    expected_params = sum(p.numel() for p in make_model().parameters())
    assert banner["model"] == "Sequential" and banner["parameters"] == expected_params
    assert (banner["device"], banner["precision"], banner["compile"]) == ("cpu", "fp32", "default")
    assert (banner["train_samples"], banner["val_samples"]) == (32, 16)
    assert (banner["steps_per_epoch"], banner["total_steps"], banner["run_dir"]) == (4, 4, str(tmp_path))


def test_off_a_terminal_progress_is_plain_periodic_lines(events: io.StringIO) -> None:
    assert not sys.stderr.isatty()
    _fit(TrainerConfig(max_epochs=2, progress_every_s=0, device="cpu"))
    lines = _events(events, "progress")
    assert [e["step"] for e in lines] == list(range(1, 9))
    assert all(e["total_steps"] == 8 and e["samples_per_s"] > 0 for e in lines)
    assert lines[-1]["percent"] == 100.0 and lines[-1]["eta_s"] == 0.0
    assert [e["epoch"] for e in lines] == [1, 1, 1, 1, 2, 2, 2, 2]


def test_plain_progress_lines_stay_quiet_in_industrial_mode_and_when_off(events: io.StringIO) -> None:
    _fit(TrainerConfig(max_epochs=1, progress_every_s=0, mode="industrial", device="cpu"))
    _fit(TrainerConfig(max_epochs=1, progress_every_s=0, progress=False, device="cpu"))
    assert _events(events, "progress") == []


def test_debug_level_adds_settings_and_checkpoint_detail(tmp_path: Path, events: io.StringIO) -> None:
    _fit(TrainerConfig(max_epochs=1, progress=False, device="cpu"), tmp_path / "info")
    assert not _events(events, "trainer_settings") and not _events(events, "checkpoint_saved")
    flog.configure_logging(fmt="json", level="debug", stream=events)
    _fit(TrainerConfig(max_epochs=1, progress=False, device="cpu"), tmp_path / "debug")
    (settings,) = _events(events, "trainer_settings")
    assert settings["deterministic"] is False and settings["callbacks"] == ["CheckpointCallback"]
    (saved,) = _events(events, "checkpoint_saved")
    assert saved["step"] == 4 and saved["path"].startswith(str(tmp_path / "debug"))
    _fit(TrainerConfig(max_epochs=2, progress=False, device="cpu"), tmp_path / "debug", resume_from=tmp_path / "debug")
    (resumed,) = _events(events, "resume_state")
    assert resumed["batch_in_epoch"] == 0 and resumed["samples_seen"] == 32 and "model" in resumed["groups"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_the_bar_prints_log_lines_above_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    flog.configure_logging(fmt="console", level="info")  # writes to sys.stderr as it is at each write
    try:
        _fit(TrainerConfig(max_epochs=2, log_every_n_steps=1, progress=True, device="cpu"))
    finally:
        flog.configure_logging()
    lines = [_ANSI.sub("", line).strip("\r") for line in re.split(r"[\r\n]", terminal.getvalue())]
    step_lines = [line for line in lines if "train_step" in line]
    assert len(step_lines) == 8
    # each log line is a line of its own, starting with its timestamp: never glued onto the bar
    assert all(re.match(r"\d{4}-\d\d-\d\dT", line) for line in step_lines), step_lines
    assert any("━" in line and "8/8" in line for line in lines)
