"""``forge train --nproc-per-node``: one run directory and one voice (rank 0), and a dead rank fails the job fast."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from forge.core.distributed import run_script

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")

SMALL = ["trainer.max_epochs=1", "data.num_samples=240", "trainer.log_every_n_steps=1", "trainer.progress_every_s=0"]


def _run(args: list[str], cwd: Path, timeout_s: float = 80) -> subprocess.CompletedProcess[str]:
    """Run a command in its own session; on a timeout the whole session is killed (no stray workers)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "FORGE_LOG_FORMAT": "json"}
    with subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _forge(*args: str) -> list[str]:
    return [sys.executable, "-c", "from forge.core.cli import main; main()", *args]


def _events(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_forge_train_with_two_processes_writes_one_run_and_speaks_once(tmp_path: Path) -> None:
    done = _run(_forge("train", "core/mlp", *SMALL, "--run-dir", "runs/ddp", "--nproc-per-node", "2"), tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    summary = json.loads(done.stdout)  # printed once, by rank 0
    assert summary["run_dir"] == "runs/ddp" and summary["stop_reason"] == "max_epochs"
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["ddp"]
    events = _events(done.stderr)
    assert [e["event"] for e in events].count("train_start") == 1
    assert {e.get("rank") for e in events if e.get("logger") == "forge.trainer"} == {0}
    progress = [e for e in events if e["event"] == "progress"]  # plain progress lines: not a terminal
    assert progress and {e["rank"] for e in progress} == {0}
    run = tmp_path / "runs" / "ddp"
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if "train/loss" in r]
    assert steps and steps == sorted(set(steps))  # one writer: no step line twice
    assert (run / "checkpoints" / "index.json").is_file()

    resumed = _run(_forge("train", "--resume", "runs/ddp", "trainer.max_epochs=2", "--nproc-per-node", "3"), tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert json.loads(resumed.stdout)["step"] > summary["step"]


def test_a_refused_run_directory_stops_every_rank_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("not a run")
    done = _run(_forge("train", "core/mlp", *SMALL, "--run-dir", "taken", "--nproc-per-node", "2"), tmp_path)
    assert done.returncode != 0
    assert "rank 1: rank 0 could not open the run directory" in done.stderr
    assert "distributed run failed: rank" in done.stderr
    assert (tmp_path / "taken" / "notes.txt").read_text() == "not a run"


KILLER = textwrap.dedent(
    """
    import os
    import signal
    import sys

    import torch
    from torch import nn

    from forge.core.distributed import DistributedConfig, detect_env
    from forge.core.trainer import Trainer, TrainerConfig

    class KillRankOne:
        def on_step_end(self, trainer, loss):
            if trainer.global_step == 3 and detect_env().rank == 1:
                os.kill(os.getpid(), signal.SIGKILL)

    batches = [(torch.randn(4, 3), torch.randint(0, 2, (4,))) for _ in range(50)]
    Trainer(
        TrainerConfig(
            max_epochs=1, progress=False, val_every_n_epochs=None, distributed=DistributedConfig(timeout_s=20.0)
        ),
        callbacks=[KillRankOne()],
    ).fit(nn.Linear(3, 2), batches, loss_fn=nn.CrossEntropyLoss(), optimizer=lambda m: torch.optim.SGD(m.parameters()))
    """
)


def test_a_killed_rank_fails_the_job_fast_with_its_name(tmp_path: Path) -> None:
    script = tmp_path / "killer.py"
    script.write_text(KILLER, encoding="utf-8")
    # torchrun's agent: the rank killed by SIGKILL is reported and the survivor stopped (timeout_s is the backstop).
    done = run_script(script, 2, timeout_s=60)
    assert done.returncode != 0
    assert "SIGKILL" in done.stderr and "rank      : 1" in done.stderr
    # forge's launcher: the same run, reported in one line.
    launch = (
        "import sys; from forge.core.distributed import launch, DistributedError\n"
        "try:\n    launch([], nproc_per_node=2, module='killer')\n"
        "except DistributedError as exc:\n    print(exc); sys.exit(1)\n"
    )
    done = _run([sys.executable, "-c", launch], tmp_path)
    assert done.returncode == 1
    assert "distributed run failed: rank 1 (local rank 1) was killed by SIGKILL" in done.stdout
