"""The profiler callback writes a Chrome trace and a top-operator summary into the run directory."""

from __future__ import annotations

import json
from pathlib import Path

from torch import nn

from forge.core.trainer._config import ProfilerConfig, TrainerConfig
from forge.core.trainer._trainer import Trainer

from .conftest import make_batches, make_model, sgd


def test_profiler_writes_trace_and_summary(tmp_path: Path) -> None:
    cfg = TrainerConfig(
        max_epochs=1, val_every_n_epochs=None, profiler=ProfilerConfig(wait=1, warmup=1, active=2, top_k=5)
    )
    Trainer(cfg, run_dir=tmp_path).fit(make_model(), make_batches(6), loss_fn=nn.CrossEntropyLoss(), optimizer=sgd())
    trace = json.loads((tmp_path / "profile" / "trace.json").read_text())
    names = {e.get("name", "") for e in trace["traceEvents"]}
    assert any(n.startswith("aten::") for n in names)
    summary = json.loads((tmp_path / "profile" / "top_ops.json").read_text())
    assert 0 < len(summary["ops"]) <= 5
    assert all(op["count"] >= 1 for op in summary["ops"])
    assert "Self CPU" in (tmp_path / "profile" / "top_ops.txt").read_text()
