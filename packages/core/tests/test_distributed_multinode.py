"""Two "nodes" on one machine: two ``forge train --nnodes 2 --node-rank K --nproc-per-node 1`` launchers.

Each launcher is a separate process tree meeting the other at ``--rdzv-endpoint 127.0.0.1:PORT``,
exactly as two machines would (torch's static rendezvous, one TCP store, gloo between the
workers). Checked: both exit 0, global rank 0 (on node 0) alone writes the run directory and
speaks, the weights equal the one-process run's with the same global batch, and a node lost
mid-run (its launcher killed outright) makes the other fail fast with the reason instead of
hanging.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not available")

# SGD (no Adam division by tiny second moments): the same global batch computes the same steps.
# 240 samples leave 192 for training: 8 optimizer steps an epoch with a global batch of 24.
TINY = ["data.num_samples=240", "optimizer.name=core.sgd", "optimizer.lr=0.05", "trainer.log_every_n_steps=1"]
GLOBAL_BATCH = 24
TIMEOUT_S = 20  # trainer.distributed.timeout_s: the longest a rank may wait for a lost one


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _forge(*args: str) -> list[str]:
    return [sys.executable, "-c", "from forge.core.cli import main; main()", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "FORGE_LOG_FORMAT": "json"}


def _node(cwd: Path, node_rank: int, port: int, overrides: list[str], *extra: str) -> subprocess.Popen[str]:
    command = _forge(
        "train",
        "core/mlp",
        *overrides,
        f"trainer.distributed.timeout_s={TIMEOUT_S}",
        *extra,
        "--nnodes",
        "2",
        "--node-rank",
        str(node_rank),
        "--nproc-per-node",
        "1",
        "--rdzv-endpoint",
        f"127.0.0.1:{port}",
    )
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # each "node" its own process tree, as on its own machine
    )


def _finish(nodes: list[subprocess.Popen[str]], timeout_s: float) -> list[tuple[int, str, str]]:
    """Wait for every node (a hang past ``timeout_s`` fails the test); kill what is left in any case."""
    results: list[tuple[int, str, str]] = []
    try:
        for proc in nodes:
            out, err = proc.communicate(timeout=timeout_s)
            results.append((proc.returncode, out, err))
    finally:
        for proc in nodes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # its workers die with it (die_with_launcher)
                proc.communicate()
    return results


def _last_weights(run: Path) -> dict[str, torch.Tensor]:
    last = sorted((run / "checkpoints").glob("step-*"))[-1]
    return load_file(str(last / "model.safetensors"))


def test_two_nodes_train_like_one_process_and_write_one_run(tmp_path: Path) -> None:
    overrides = [*TINY, "trainer.max_epochs=2", f"data.batch_size={GLOBAL_BATCH // 2}"]
    port = _free_port()
    # node 1 first: it waits for node 0, which holds the rendezvous store; no --run-dir, so the
    # run directory's name is chosen by global rank 0 and learnt by the other node
    nodes = [_node(tmp_path, 1, port, overrides)]
    nodes.insert(0, _node(tmp_path, 0, port, overrides))
    (rc0, out0, err0), (rc1, out1, err1) = _finish(nodes, 240)
    assert rc0 == 0, err0[-4000:]
    assert rc1 == 0, err1[-4000:]
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1  # one run directory, written by global rank 0
    summary = json.loads(out0)  # node 0 holds global rank 0: it reports; node 1 says nothing
    assert out1.strip() == ""
    assert summary["run_dir"] == f"runs/{runs[0].name}" and summary["step"] == 16
    trainer_events = [json.loads(line) for line in (err0 + err1).splitlines() if line.startswith("{")]
    assert {e.get("rank") for e in trainer_events if e.get("logger") == "forge.trainer"} == {0}

    one = subprocess.run(
        _forge(
            "train", "core/mlp", *TINY, "trainer.max_epochs=2", f"data.batch_size={GLOBAL_BATCH}", "--run-dir", "one"
        ),
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert one.returncode == 0, one.stderr[-4000:]
    assert json.loads(one.stdout)["step"] == 16
    reference, weights = _last_weights(tmp_path / "one"), _last_weights(runs[0])
    assert weights.keys() == reference.keys()
    difference = max(float((weights[k] - reference[k]).abs().max()) for k in reference)
    print(f"max |w_two_nodes - w_single| = {difference:.3g}")
    assert difference <= 1e-6


def _steps_logged(run: Path) -> int:
    log = run / "log.jsonl"
    return log.read_text().count('"train/loss"') if log.is_file() else 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a worker dies with its launcher on Linux only")
@pytest.mark.parametrize("lost", [1, 0])
def test_a_lost_node_fails_the_other_fast(tmp_path: Path, lost: int) -> None:
    """Node ``lost``'s launcher is killed by SIGKILL mid-run (node 0's holds the rendezvous store):
    its worker dies with it, and the other node's rank fails at its next collective, its launcher
    naming the rank and the error, well within trainer.distributed.timeout_s."""
    overrides = [*TINY, "trainer.max_epochs=100000", f"data.batch_size={GLOBAL_BATCH // 2}"]
    port = _free_port()
    run = tmp_path / "runs" / "x"
    nodes = [_node(tmp_path, rank, port, overrides, "--run-dir", "runs/x") for rank in (0, 1)]
    try:
        deadline = time.monotonic() + 120
        while _steps_logged(run) < 3:  # training is under way on both nodes
            assert all(p.poll() is None for p in nodes) and time.monotonic() < deadline, "never started"
            time.sleep(0.2)
        os.kill(nodes[lost].pid, signal.SIGKILL)  # the launcher only: a node's agent lost outright
        survivor = nodes[1 - lost]
        # a hang would run into this limit (and fail); the ranks notice the loss at once, and
        # trainer.distributed.timeout_s bounds any wait on a rank that stops answering
        _, err = survivor.communicate(timeout=TIMEOUT_S + 60)
    finally:
        _finish(nodes, 30)
    assert survivor.returncode not in (0, None), err[-4000:]
    failure = [line for line in err.splitlines() if line.startswith("error: distributed run failed: rank")]
    assert len(failure) == 1, err[-4000:]
    assert f"rank {1 - lost} (local rank 0) exited with status 1" in failure[0]
    # the lost node's worker died with its launcher: no orphan trains on, unwatched
    assert _processes_in(tmp_path) == []


def _processes_in(cwd: Path) -> list[int]:
    """The processes (by pid) whose working directory is ``cwd`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == cwd:
                    found.append(int(entry.name))
            except OSError:  # gone, or not ours to read
                continue
    return found
