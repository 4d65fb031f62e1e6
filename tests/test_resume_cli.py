"""``forge train`` stopped with a real SIGINT (Ctrl-C): it saves, says how to resume, and resuming is exact.

The shipped ``vision/digits`` recipe, shortened with overrides: a ``forge train`` process sent
SIGINT as soon as it reports step 5, then its ``forge train --resume``. The resumed run must end
with the weights of an uninterrupted run (trained in this process), bit for bit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from forge.core import run_recipe
from forge.core._run import find_checkpoint

pytest.importorskip("forge.vision")

OVERRIDES = [
    "data.val_fraction=0.05",
    "data.test_fraction=0.8",
    "model.width_multiplier=0.125",
    "data.batch_size=32",
    "trainer.max_epochs=2",
    "trainer.progress_every_s=0",  # off a terminal: a plain progress line after every step
]


def _env() -> dict[str, str]:
    # no FORGE_* settings from the caller; one thread, so every process computes alike
    return {**{k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}, "OMP_NUM_THREADS": "1"}


def _forge() -> str:
    exe = Path(sys.executable).parent / "forge"
    if not exe.exists():
        pytest.skip("the forge console script is not installed in this environment")
    return str(exe)


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    groups = find_checkpoint(run_dir, "last").groups
    return dict(groups["model"])


def test_ctrl_c_saves_prints_the_resume_command_and_resumes_exactly(tmp_path: Path) -> None:
    forge = _forge()
    # The uninterrupted reference runs in this process, on one thread like the forge processes.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        reference = run_recipe("vision/digits", OVERRIDES, run_dir=tmp_path / "reference").run_dir
    finally:
        torch.set_num_threads(threads)

    run_dir = tmp_path / "interrupted"
    proc = subprocess.Popen(
        [forge, "train", "vision/digits", *OVERRIDES, "--run-dir", str(run_dir)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a suite started in the background would pass SIGINT on ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    lines: list[str] = []
    for line in proc.stderr:
        lines.append(line)
        if "progress" in line and " step=5 " in line:
            os.kill(proc.pid, signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    err = "".join(lines) + err
    assert proc.returncode == 130, err[-2000:]
    assert f"resume with: forge train --resume {run_dir}" in err
    stopped = find_checkpoint(run_dir, "last").manifest["trainer"]["global_step"]
    assert 5 <= stopped < 18, "the interrupted run finished on its own"
    assert out == ""  # no result JSON: the run did not finish

    resumed = subprocess.run(
        [forge, "train", "--resume", str(run_dir)], env=_env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    want, got = _weights(reference), _weights(run_dir)
    assert [k for k in want if not torch.equal(want[k], got[k])] == []
