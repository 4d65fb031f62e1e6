"""Ctrl-C under ``forge train --nproc-per-node 2``: every rank stops after the same step, one checkpoint
is saved (together: a sharded FSDP save is a collective), and the launcher exits with status 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from forge.core._checkpoint import load_checkpoint

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")

# Enough epochs that only Ctrl-C ends the run.
LONG = ["trainer.max_epochs=500", "data.num_samples=240", "trainer.log_every_n_steps=1", "trainer.progress_every_s=0"]


def _steps_logged(run: Path) -> int:
    log = run / "log.jsonl"
    if not log.is_file():
        return 0
    return sum('"train/loss"' in line for line in log.read_text().splitlines())


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_ctrl_c_to_the_launcher_stops_every_rank_at_one_step_with_one_checkpoint(tmp_path: Path, strategy: str) -> None:
    command = [
        sys.executable,
        "-c",
        "from forge.core.cli import main; main()",
        "train",
        "core/mlp",
        *LONG,
        f"trainer.distributed.strategy={strategy}",
        "trainer.checkpoint.every_n_epochs=null",
        "--run-dir",
        "runs/x",
        "--nproc-per-node",
        "2",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "FORGE_LOG_FORMAT": "json"}
    run = tmp_path / "runs" / "x"
    with subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            deadline = time.monotonic() + 90
            while _steps_logged(run) < 3:  # training is under way on both ranks
                assert proc.poll() is None and time.monotonic() < deadline, "the run ended or never started"
                time.sleep(0.2)
            os.kill(proc.pid, signal.SIGINT)  # the launcher only, as a terminal's Ctrl-C reaches it
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
    assert proc.returncode == 130, err[-4000:]
    # rank 0 speaks: "training interrupted after step N"; the other ranks log errors only
    said = [line for line in err.splitlines() if line.startswith("training interrupted after step ")]
    assert len(said) == 1, err[-4000:]
    step = int(said[0].split("training interrupted after step ")[1].split()[0])
    checkpoints = sorted((run / "checkpoints").glob("step-*"))
    assert [c.name for c in checkpoints] == [f"step-{step:06d}"]
    manifest = load_checkpoint(checkpoints[0]).manifest
    assert manifest["reason"] == "interrupted" and manifest["trainer"]["global_step"] == step
    # every rank took part in the save at that step: its generators are in, and so is its shard
    assert set(load_checkpoint(checkpoints[0]).groups["rank_rng"]) == {"1"}
    sharded = manifest["trainer"].get("sharded")
    assert (sharded is not None) == (strategy == "fsdp")
    if sharded is not None:
        assert len(sharded["files"]) == 2 and (checkpoints[0] / "sharded").is_dir()
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert max(r["step"] for r in records if "train/loss" in r) == step
