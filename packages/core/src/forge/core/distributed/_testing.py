"""Run a script in several processes from a test, with a hard time limit: how forge and plugins test DDP code.

:func:`run_script` starts ``torchrun --standalone`` in its own session, so on a timeout the launcher
and every worker are killed together, and a hung collective can never hang a test suite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["run_script"]

_LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def run_script(
    script: str | Path,
    nproc: int,
    args: Sequence[str] = (),
    *,
    timeout_s: float = 60.0,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` on ``nproc`` local processes through torchrun and wait for them all.

    Args:
        script: A Python file (each worker runs it with torchrun's ``RANK``/``WORLD_SIZE`` set).
        nproc: Number of processes; 0 runs the script in one plain process, without a launcher
            and without the launcher's variables (what a user's ``python script.py`` does).
        args: The script's arguments.
        timeout_s: Wall-clock limit for the whole run.
        env: Extra environment variables for the workers.
        cwd: Working directory.

    Returns:
        The finished process, its stdout and stderr as text (the launcher's exit status is
        non-zero when any worker failed).

    Raises:
        subprocess.TimeoutExpired: the run took longer than ``timeout_s``; it was killed first
            (``output``/``stderr`` hold what it wrote).
    """
    launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", "--max-restarts=0"]
    command = [sys.executable, *(launcher if nproc else []), str(script), *args]
    inherited = {k: v for k, v in os.environ.items() if nproc or k not in _LAUNCHER_VARIABLES}
    full_env = {**inherited, "OMP_NUM_THREADS": "1", **(env or {})}
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=cwd,
        start_new_session=True,  # its own process group: a timeout kills launcher and workers together
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise subprocess.TimeoutExpired(command, timeout_s, output=out, stderr=err) from None
    return subprocess.CompletedProcess(command, proc.returncode, out, err)
