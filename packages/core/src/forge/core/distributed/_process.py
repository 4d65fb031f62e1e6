"""The process group: accelerate's settings from a :class:`DistributedConfig`, and barriers that cannot hang.

accelerate creates the process group (when the Trainer makes its ``Accelerator``);
:func:`accelerator_kwargs` hands it the backend, the timeout and the DDP settings. Everything that
waits for all ranks goes through :func:`barrier`, which waits at most ``timeout_s`` and then fails
naming the ranks that never arrived (``torch.distributed.monitored_barrier`` on a gloo group, also
beside NCCL), so a rank that died can never leave the others hanging.
"""

from __future__ import annotations

import datetime
from typing import Any

from forge.core.distributed._config import DistributedConfig
from forge.core.errors import ForgeError

__all__ = [
    "DistributedError",
    "accelerator_kwargs",
    "barrier",
    "broadcast_text",
    "gather_to_main",
    "init_process_group",
    "is_initialized",
    "launched",
    "prepare_groups",
    "resolve_backend",
    "world",
]


class DistributedError(ForgeError, RuntimeError):
    """A multi-process run cannot go on: a rank failed, did not answer in time, or disagrees with the others."""


_state: dict[str, Any] = {}


def resolve_backend(config: DistributedConfig, device_type: str) -> str:
    """The process-group backend: the configured one, or NCCL on CUDA and gloo elsewhere for ``"auto"``.

    Raises:
        DistributedError: NCCL asked for on a machine without CUDA.
    """
    if config.backend == "auto":
        return "nccl" if device_type == "cuda" else "gloo"
    if config.backend == "nccl" and device_type != "cuda":
        raise DistributedError(
            f"trainer.distributed.backend: 'nccl' needs CUDA, but training runs on {device_type}; use 'gloo' or 'auto'"
        )
    return config.backend


def accelerator_kwargs(config: DistributedConfig, device_type: str, *, multi_process: bool = True) -> list[Any]:
    """accelerate ``kwargs_handlers`` carrying the backend, timeout and DDP settings of ``config``.

    NCCL's own settings (``NCCL_*`` and ``TORCH_NCCL_*`` variables such as ``NCCL_DEBUG`` or
    ``NCCL_SOCKET_IFNAME``) are read by NCCL from the environment, which every launcher passes on.

    Args:
        config: The ``trainer.distributed`` section.
        device_type: ``"cuda"`` or ``"cpu"``: where training runs.
        multi_process: Whether a launcher started several processes; in one process the
            process-group settings are left out (they would make accelerate expect a group).

    Returns:
        ``[DistributedDataParallelKwargs, InitProcessGroupKwargs]`` for ``Accelerator(kwargs_handlers=...)``
        (the first alone in one process).
    """
    from accelerate.utils import DistributedDataParallelKwargs, InitProcessGroupKwargs

    ddp = DistributedDataParallelKwargs(
        find_unused_parameters=config.find_unused_parameters,
        # accelerate declares an int; DDP itself takes any number of MiB.
        bucket_cap_mb=config.bucket_cap_mb,
        static_graph=config.static_graph,
        gradient_as_bucket_view=config.gradient_as_bucket_view,
        broadcast_buffers=config.broadcast_buffers,
    )
    if not multi_process:
        return [ddp]
    group = InitProcessGroupKwargs(
        backend=resolve_backend(config, device_type), timeout=datetime.timedelta(seconds=config.timeout_s)
    )
    return [ddp, group]


def is_initialized() -> bool:
    """Whether a torch.distributed process group exists in this process."""
    import torch.distributed as dist

    return bool(dist.is_available() and dist.is_initialized())


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of the process group, ``(0, 1)`` without one."""
    if not is_initialized():
        return 0, 1
    import torch.distributed as dist

    return dist.get_rank(), dist.get_world_size()


def init_process_group(config: DistributedConfig, device_type: str) -> bool:
    """Join the run's process group when a launcher started several processes (once; later calls do nothing).

    Called before anything that differs between ranks (the run directory's name, the first log
    line), so rank 0 can decide and tell the others; accelerate then uses this group. Under
    ``srun`` without torchrun, SLURM's variables are adopted first (:func:`adopt_slurm_env`).

    Args:
        config: The ``trainer.distributed`` section (backend and timeout).
        device_type: ``"cuda"`` or ``"cpu"``; on CUDA each process is pinned to GPU ``LOCAL_RANK``.

    Returns:
        Whether this process joined a process group: it is part of a multi-process run, or
        ``strategy = "fsdp"`` in a launcher-started process of a world of one.

    Raises:
        DistributedError: the rendezvous failed or timed out (the message says which address).
    """
    from forge.core.distributed._env import adopt_slurm_env, detect_env

    adopt_slurm_env()
    env = detect_env()
    # FSDP shards over a process group even of one process when a launcher started it (torchrun
    # --nproc-per-node 1): the sharded path is then the one a larger run takes, on one GPU.
    if not env.is_distributed and not (config.strategy == "fsdp" and launched()):
        return False
    if is_initialized():
        return True
    import torch
    import torch.distributed as dist

    backend = resolve_backend(config, device_type)
    if device_type == "cuda":
        torch.cuda.set_device(env.local_rank)
    try:
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=config.timeout_s))
    except (RuntimeError, ValueError) as exc:
        raise DistributedError(
            f"rank {env.rank} of {env.world_size}: could not join the process group ({backend}) at "
            f"MASTER_ADDR/MASTER_PORT; check that every node reaches that address: {exc}"
        ) from exc
    prepare_groups()
    return True


def launched() -> bool:
    """Whether a launcher (torchrun, ``accelerate launch``, ``srun`` adopted) started this process."""
    import os

    return "WORLD_SIZE" in os.environ and "MASTER_ADDR" in os.environ


def _gloo_group() -> Any:
    """A gloo group over all ranks for barriers and small messages (made once; NCCL cannot monitor barriers).

    Every rank must reach the first call together: the Trainer makes it right after the process
    group exists.
    """
    import torch.distributed as dist

    group = _state.get("gloo")
    key = id(dist.GroupMember.WORLD)
    if group is None or _state.get("world") != key:
        group = dist.group.WORLD if dist.get_backend() == "gloo" else dist.new_group(backend="gloo")
        _state["gloo"], _state["world"] = group, key
    return group


def prepare_groups() -> None:
    """Create the gloo group :func:`barrier` and :func:`broadcast_text` use (all ranks, once, after init)."""
    if is_initialized():
        _gloo_group()


def barrier(name: str, timeout_s: float) -> None:
    """Wait until every rank reaches the barrier ``name``, at most ``timeout_s`` seconds.

    A no-op without a process group.

    Raises:
        DistributedError: some rank did not arrive in time (it failed or hangs); the message names
            the barrier, the timeout and, from torch, the missing ranks.
    """
    if not is_initialized():
        return
    import torch.distributed as dist

    if dist.get_world_size() == 1:
        return
    try:
        dist.monitored_barrier(group=_gloo_group(), timeout=datetime.timedelta(seconds=timeout_s), wait_all_ranks=True)
    except RuntimeError as exc:
        rank = dist.get_rank()
        raise DistributedError(
            f"rank {rank}: not every rank reached {name!r} within {timeout_s:g} s "
            f"(trainer.distributed.timeout_s); another rank failed or hangs, see its error: {exc}"
        ) from exc


def broadcast_text(text: str | None, *, src: int = 0) -> str:
    """Rank ``src``'s ``text`` on every rank (as UTF-8 bytes in a tensor: nothing is pickled).

    Without a process group, ``text`` itself.

    Raises:
        DistributedError: ``text`` is None on ``src``.
    """
    rank, size = world()
    if size == 1 or not is_initialized():
        if text is None:
            raise DistributedError("broadcast_text: no text to send")
        return text
    import torch
    import torch.distributed as dist

    group = _gloo_group()
    if rank == src:
        if text is None:
            raise DistributedError(f"broadcast_text: rank {src} has no text to send")
        payload = torch.tensor(list(text.encode("utf-8")), dtype=torch.uint8)
        length = torch.tensor([payload.numel()], dtype=torch.int64)
    else:
        length = torch.zeros(1, dtype=torch.int64)
    dist.broadcast(length, src=src, group=group)
    if rank != src:
        payload = torch.empty(int(length.item()), dtype=torch.uint8)
    dist.broadcast(payload, src=src, group=group)
    return bytes(payload.tolist()).decode("utf-8")


def gather_to_main(value: Any) -> list[Any] | None:
    """Every rank's ``value``, in rank order, on rank 0 (None on the others); every rank must call it.

    For small host-side state (random generator states): it travels pickled between the run's own
    processes over the gloo group, and is never written that way. Without a process group:
    ``[value]``.
    """
    rank, size = world()
    if size == 1:
        return [value]
    import torch.distributed as dist

    gathered: list[Any] | None = [None] * size if rank == 0 else None
    dist.gather_object(value, gathered, dst=0, group=_gloo_group())
    return gathered
