"""Seeds, determinism, RNG snapshots and the environment record of a run.

Exact resume needs every random number generator a run touches: Python's ``random``, NumPy's
legacy global generator, torch's CPU generator and one generator per CUDA device.
:func:`capture_rng_state` snapshots them in a form :func:`forge.core._checkpoint.flatten_state`
stores without pickle (Python's state as lists of ints, torch's as ``uint8`` tensors), and
:func:`restore_rng_state` puts them back.

Example::

    seed_everything(42)
    configure_determinism(True)
    loader = DataLoader(ds, num_workers=2, worker_init_fn=seed_worker)
    state = capture_rng_state()      # store under the "rng" group of a checkpoint
    ...
    restore_rng_state(state)
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import random
import re
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from forge.core._logging import get_logger
from forge.core.errors import CheckpointError

__all__ = [
    "CUBLAS_WORKSPACE_CONFIG",
    "capture_environment",
    "capture_rng_state",
    "configure_determinism",
    "restore_rng_state",
    "seed_everything",
    "seed_worker",
]

CUBLAS_WORKSPACE_CONFIG = ":4096:8"
"""The cuBLAS workspace setting deterministic CUDA matmuls need (set by configure_determinism)."""

_MAX_SEED = 2**32 - 1
_log = get_logger(__name__)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator, torch (CPU) and every CUDA device.

    Also sets ``PYTHONHASHSEED`` for child processes (it cannot change this process's hashing).

    Args:
        seed: A seed in ``[0, 2**32 - 1]``.

    Raises:
        ValueError: ``seed`` is out of range or not an int.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= _MAX_SEED:
        raise ValueError(f"seed must be an int in [0, {_MAX_SEED}], got {seed!r}")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    # torch.manual_seed also seeds every CUDA device (lazily when CUDA is not yet initialised).
    torch.manual_seed(seed)


def configure_determinism(enabled: bool, *, warn_only: bool = False) -> None:
    """Switch torch's deterministic mode on or off.

    Enabled: ``torch.use_deterministic_algorithms(True)``, ``cudnn.deterministic = True``,
    ``cudnn.benchmark = False`` and ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` (kept if already set to
    another valid value). Disabled: the opposite flags and ``cudnn.benchmark = True``; the
    environment variable is left alone because cuBLAS reads it once, at initialisation.

    Args:
        enabled: Whether to require deterministic algorithms.
        warn_only: Warn instead of raising when an operation has no deterministic version.
    """
    if enabled:
        if os.environ.get("CUBLAS_WORKSPACE_CONFIG") not in (":4096:8", ":16:8"):
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE_CONFIG
        torch.use_deterministic_algorithms(True, warn_only=warn_only)
    else:
        torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = not enabled


def _current_rank() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return int(torch.distributed.get_rank())
    return int(os.environ.get("RANK", "0"))


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` for a DataLoader: seed each worker differently on each rank.

    torch gives each worker ``base_seed + worker_id``; the base seed comes from the main process's
    generator, which every rank seeds alike. Mixing in the rank keeps ranks from drawing the same
    augmentations. Python's ``random``, NumPy and torch in the worker are all seeded.

    Args:
        worker_id: The worker's index (DataLoader passes it).
    """
    entropy = [torch.initial_seed() % (2**63), worker_id, _current_rank()]
    seed = int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0])
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def capture_rng_state() -> dict[str, Any]:
    """Snapshot every global generator, in a form :func:`flatten_state` stores exactly.

    Returns:
        ``{"python": [version, [ints...], gauss_next], "numpy": {...}, "torch": uint8 tensor,
        "cuda": [uint8 tensor per device]}``. ``cuda`` is empty when CUDA is unavailable.
    """
    version, internal, gauss_next = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    cuda: list[torch.Tensor] = []
    if torch.cuda.is_available():
        cuda = [t.clone() for t in torch.cuda.get_rng_state_all()]
    return {
        "python": [int(version), [int(v) for v in internal], gauss_next],
        "numpy": {
            "kind": str(kind),
            "keys": [int(k) for k in keys],
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state().clone(),
        "cuda": cuda,
    }


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Restore generators from :func:`capture_rng_state`'s snapshot.

    A snapshot taken with more CUDA devices than are visible restores the ones that exist and
    logs a warning (the run is then not bitwise reproducible on the missing devices' streams).

    Args:
        state: The snapshot (possibly after a checkpoint round trip).

    Raises:
        CheckpointError: The snapshot lacks a generator or has the wrong shape.
    """
    try:
        version, internal, gauss_next = state["python"]
        random.setstate((int(version), tuple(int(v) for v in internal), gauss_next))
        np_state = state["numpy"]
        np.random.set_state(
            (
                np_state["kind"],
                np.asarray(np_state["keys"], dtype=np.uint32),
                int(np_state["pos"]),
                int(np_state["has_gauss"]),
                float(np_state["cached_gaussian"]),
            )
        )
        torch.set_rng_state(_as_byte_tensor(state["torch"]))
        cuda_states = list(state.get("cuda", []))
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"invalid RNG state snapshot: {exc!r}") from exc
    if cuda_states and torch.cuda.is_available():
        count = torch.cuda.device_count()
        if len(cuda_states) != count:
            _log.warning("rng.cuda_device_count_changed", saved=len(cuda_states), visible=count)
        for index, cuda_state in enumerate(cuda_states[:count]):
            torch.cuda.set_rng_state(_as_byte_tensor(cuda_state), device=index)
    elif cuda_states:
        _log.warning("rng.cuda_state_ignored", reason="CUDA is not available", saved=len(cuda_states))


def _as_byte_tensor(value: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"expected a uint8 tensor, got {type(value).__name__}")
    return value.detach().to(device="cpu", dtype=torch.uint8).contiguous()


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def capture_environment(cwd: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Describe the software and hardware a run uses (what a run directory records).

    Args:
        cwd: The directory whose git commit to record (default: the current directory).

    Returns:
        A JSON-able dict: ``python``, ``platform``, ``hostname``, ``torch``, ``cuda``, ``cudnn``,
        ``gpus`` (name, compute capability, memory), ``numpy``, ``accelerate``, ``torchmetrics``,
        ``forge_packages`` (every installed ``forge-*`` distribution and its version),
        ``deterministic``, and ``git`` (``commit`` and ``dirty``, or ``None`` when git or a
        repository is missing).
    """
    where = Path(cwd) if cwd is not None else Path.cwd()
    gpus: list[dict[str, Any]] = []
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            gpus.append(
                {
                    "name": props.name,
                    "capability": [int(props.major), int(props.minor)],
                    "memory_bytes": int(props.total_memory),
                }
            )
    forge_packages: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and _canonical(name).startswith("forge-"):
            forge_packages[_canonical(name)] = dist.version
    commit = _git(["rev-parse", "HEAD"], where)
    git: dict[str, Any] | None = None
    if commit is not None:
        status = _git(["status", "--porcelain"], where)
        git = {"commit": commit, "dirty": bool(status) if status is not None else None}
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None  # type: ignore[no-untyped-call]  # torch leaves these two untyped
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
        },
        "hostname": socket.gethostname(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": cudnn,
        "gpus": gpus,
        "numpy": np.__version__,
        "accelerate": _dist_version("accelerate"),
        "torchmetrics": _dist_version("torchmetrics"),
        "safetensors": _dist_version("safetensors"),
        "forge_packages": dict(sorted(forge_packages.items())),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "git": git,
    }
