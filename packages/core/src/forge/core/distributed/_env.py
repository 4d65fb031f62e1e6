"""Who this process is in a multi-process run, read from the launcher's environment (no torch import).

torchrun (and ``forge train --nproc-per-node``, ``accelerate launch``) set ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE`` and ``MASTER_ADDR``/``MASTER_PORT``. A job
started by SLURM's ``srun`` without torchrun has ``SLURM_PROCID``, ``SLURM_NTASKS`` and
``SLURM_LOCALID`` instead: :func:`adopt_slurm_env` copies them to the torch names, so the same
recipe runs under either.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

import attrs

from forge.core.errors import ConfigError

__all__ = ["DistributedEnv", "adopt_slurm_env", "detect_env", "rank_seed"]


@attrs.frozen
class DistributedEnv:
    """This process's place in the run.

    Attributes:
        rank: Global rank, 0 to ``world_size - 1``.
        world_size: Number of processes in the run.
        local_rank: Rank on this machine (the GPU index it uses).
        local_world_size: Processes on this machine.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def is_distributed(self) -> bool:
        """Whether the run has more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0: the process that writes the run directory, logs and progress."""
        return self.rank == 0


def _int(env: MutableMapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r}: expected an integer (set by the launcher)") from None


def detect_env(environ: MutableMapping[str, str] | None = None) -> DistributedEnv:
    """Read this process's rank and world size from the launcher's variables.

    Args:
        environ: The environment (default: ``os.environ``).

    Returns:
        The :class:`DistributedEnv`; rank 0 of 1 when no launcher set anything.

    Raises:
        ConfigError: a variable is not an integer or the rank lies outside the world.
    """
    env = os.environ if environ is None else environ
    world = _int(env, "WORLD_SIZE", 1)
    rank = _int(env, "RANK", 0)
    local_rank = _int(env, "LOCAL_RANK", 0)
    local_world = _int(env, "LOCAL_WORLD_SIZE", world if world == 1 else max(1, local_rank + 1))
    if world < 1 or not 0 <= rank < world:
        raise ConfigError(f"RANK={rank} is not in [0, WORLD_SIZE={world}): check the launcher's settings")
    return DistributedEnv(rank=rank, world_size=world, local_rank=local_rank, local_world_size=local_world)


def adopt_slurm_env(environ: MutableMapping[str, str] | None = None) -> bool:
    """Under ``srun`` without torchrun, set torch's ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` from SLURM's.

    Only when SLURM started several tasks and no launcher set ``RANK`` already (torchrun inside an
    ``srun`` allocation keeps its own values). ``MASTER_ADDR`` and ``MASTER_PORT`` must be exported
    by the batch script (SLURM knows no rendezvous address); a missing one is refused by name.

    Args:
        environ: The environment to read and update (default: ``os.environ``).

    Returns:
        Whether the SLURM variables were adopted.

    Raises:
        ConfigError: SLURM started several tasks but ``MASTER_ADDR`` or ``MASTER_PORT`` is not set.
    """
    env = os.environ if environ is None else environ
    tasks = _int(env, "SLURM_NTASKS", 1)
    if "RANK" in env or "SLURM_PROCID" not in env or tasks < 2:
        return False
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not env.get(name)]
    if missing:
        raise ConfigError(
            f"srun started {tasks} tasks but {' and '.join(missing)} is not set: export "
            "MASTER_ADDR=$(scontrol show hostnames $SLURM_JOB_NODELIST | head -n 1) and MASTER_PORT=29500 "
            "in the batch script"
        )
    env["RANK"] = env["SLURM_PROCID"]
    env["WORLD_SIZE"] = str(tasks)
    env["LOCAL_RANK"] = env.get("SLURM_LOCALID", "0")
    per_node = env.get("SLURM_NTASKS_PER_NODE", "").split("(")[0]
    if per_node.isdigit():
        env["LOCAL_WORLD_SIZE"] = per_node
    return True


def rank_seed(seed: int, rank: int) -> int:
    """The seed of rank ``rank``'s random generators: ``seed`` itself on rank 0, distinct on the others.

    Rank 0 keeps the recipe's seed, so a one-process run draws what it always drew; the other ranks
    get their own streams (dropout masks and augmentations must differ between ranks, or the
    ranks would train on correlated noise).
    """
    if rank == 0:
        return seed
    from forge.core.data._seeding import derive_seed

    return derive_seed(seed, "rank", rank) % (2**32)
