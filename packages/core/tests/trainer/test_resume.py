"""Acceptance: a run SIGKILLed mid-epoch and resumed ends bitwise equal to the uninterrupted run.

The child trains with 2 persistent DataLoader workers that add random noise to every sample, so
the resumed run must also reproduce the augmentation draws of the batches after the kill.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import torch
from safetensors import safe_open

CHILD = Path(__file__).with_name("resume_child.py")
STEPS_PER_EPOCH = 20  # 320 samples / batch 16


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    return env


def _load(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata())


def test_sigkill_mid_epoch_then_resume_is_bitwise_identical(tmp_path: Path) -> None:
    env = _env()
    # Uninterrupted reference run.
    ref_out = tmp_path / "ref.safetensors"
    subprocess.run(
        [sys.executable, str(CHILD), str(tmp_path / "ref"), str(ref_out)],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )

    # Pick a kill step that is mid-epoch and leaves a mid-epoch checkpoint (every 3 steps) behind.
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    kill_at = rng.choice(
        [s for s in range(8, 56) if s % STEPS_PER_EPOCH not in (0, 1, 2) and (s - s % 3) % STEPS_PER_EPOCH]
    )
    run_dir = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(run_dir), str(tmp_path / "never.safetensors")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    seen = 0
    for line in proc.stdout:
        if line.startswith("step "):
            seen = int(line.split()[1])
            if seen >= kill_at:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"child ended on its own (rc={proc.returncode}, kill_at={kill_at})"
    assert not (tmp_path / "never.safetensors").exists()

    index = json.loads((run_dir / "checkpoints" / "index.json").read_text())
    resumed_from = max(e["step"] for e in index["checkpoints"])
    manifest = json.loads((run_dir / "checkpoints" / f"step-{resumed_from:06d}" / "manifest.json").read_text())
    position = manifest["manifest"]["trainer"] if "manifest" in manifest else manifest["trainer"]
    assert 0 < resumed_from < 60
    assert position["batch_in_epoch"] > 0, f"checkpoint {resumed_from} is not mid-epoch (kill_at={kill_at})"

    out = tmp_path / "resumed.safetensors"
    subprocess.run(
        [sys.executable, str(CHILD), str(run_dir), str(out), "resume"],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )

    ref, ref_meta = _load(ref_out)
    got, got_meta = _load(out)
    assert ref_meta == got_meta
    assert sorted(ref) == sorted(got)
    assert any(k.startswith("ema/") for k in ref) and any(k.startswith("opt/") for k in ref)
    different = [k for k in ref if not torch.equal(ref[k], got[k])]
    assert not different, f"kill_at={kill_at}, resumed_from={resumed_from}: differ in {different[:5]}"
