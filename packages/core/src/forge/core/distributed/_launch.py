"""Start a multi-process run through torchrun's own API (``torch.distributed.run``).

``forge train RECIPE --nproc-per-node N`` calls :func:`launch`, which is exactly
``torchrun --nproc-per-node N -m forge.core.cli._launch train RECIPE ...``: torch's elastic agent
starts and watches the workers, and when one fails it stops the others at once. forge only turns
the agent's failure report into one clear error naming the rank that failed first and why.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence

from forge.core.distributed._process import DistributedError

__all__ = ["WORKER_MODULE", "launch", "torchrun_args"]

WORKER_MODULE = "forge.core.cli._launch"
"""The module each worker runs (``python -m``): the ``forge`` command line, with torch's error recording."""


def torchrun_args(
    worker_args: Sequence[str],
    *,
    nproc_per_node: int,
    nnodes: int = 1,
    rdzv_endpoint: str | None = None,
    rdzv_id: str = "forge",
    node_rank: int | None = None,
    module: str = WORKER_MODULE,
) -> list[str]:
    """torchrun's command-line arguments for a run (what :func:`launch` hands ``torch.distributed.run``).

    One node without an endpoint runs standalone (a free local port, nothing to configure);
    several nodes meet at ``rdzv_endpoint`` (``HOST:PORT`` of one of them), every node starting
    the same command. Without ``node_rank`` they meet through torch's c10d rendezvous, which
    orders the nodes as they arrive; with it, through the static one: node ``node_rank`` holds
    global ranks ``node_rank * nproc_per_node`` onwards, so the node given 0 is the one whose
    rank 0 writes the run directory (torch's c10d rendezvous would ignore the rank).

    Raises:
        DistributedError: a count below 1, or several nodes without an endpoint.
    """
    if nproc_per_node < 1 or nnodes < 1:
        raise DistributedError(f"--nproc-per-node ({nproc_per_node}) and --nnodes ({nnodes}) must be at least 1")
    args = ["--nproc-per-node", str(nproc_per_node), "--nnodes", str(nnodes), "--max-restarts", "0"]
    if rdzv_endpoint is None:
        if nnodes > 1:
            raise DistributedError(
                f"--nnodes {nnodes}: give --rdzv-endpoint HOST:PORT (one node's address, the same on every node)"
            )
        args.append("--standalone")
    else:
        if node_rank is not None and not 0 <= node_rank < nnodes:
            raise DistributedError(f"--node-rank {node_rank}: must be in [0, --nnodes {nnodes})")
        backend = "c10d" if node_rank is None else "static"
        args += ["--rdzv-backend", backend, "--rdzv-endpoint", rdzv_endpoint, "--rdzv-id", rdzv_id]
        if node_rank is not None:
            args += ["--node-rank", str(node_rank)]
    return [*args, "--module", module, *worker_args]


def _describe(exc: BaseException) -> str:
    """The first failure of torch's ``ChildFailedError``: which rank, how it ended, its error message."""
    failure = getattr(exc, "get_first_failure", None)
    if failure is None:
        return str(exc)
    rank, info = failure()
    if info.exitcode < 0:
        try:
            how = f"was killed by {signal.Signals(-info.exitcode).name}"
        except ValueError:
            how = f"was killed by signal {-info.exitcode}"
    else:
        how = f"exited with status {info.exitcode}"
    message = info.message
    if isinstance(message, dict):
        message = message.get("message", "")
    detail = str(message or "").strip()
    # torch's record() keeps the whole traceback; its last line is the error itself.
    last = detail.splitlines()[-1] if detail else ""
    error = f": {last}" if last and "To enable traceback" not in last and "Signal" not in last else ""
    return f"rank {rank} (local rank {info.local_rank}) {how}{error}; the other ranks were stopped"


def launch(
    worker_args: Sequence[str],
    *,
    nproc_per_node: int,
    nnodes: int = 1,
    rdzv_endpoint: str | None = None,
    rdzv_id: str = "forge",
    node_rank: int | None = None,
    module: str = WORKER_MODULE,
) -> None:
    """Run ``python -m module *worker_args`` in ``nproc_per_node`` processes on this node, via torchrun.

    Args:
        worker_args: The workers' command line (for the default module: ``forge``'s arguments,
            e.g. ``["train", "core/mlp", "trainer.max_epochs=2"]``).
        nproc_per_node: Processes on this node (one per GPU).
        nnodes: Nodes in the run.
        rdzv_endpoint: ``HOST:PORT`` where the nodes meet (needed for several nodes).
        rdzv_id: The run's rendezvous id (the same on every node).
        node_rank: This node's rank, when the nodes must be ordered (static rendezvous; else
            assigned as the nodes arrive).
        module: The module the workers run.

    Ctrl-C (SIGINT) here is passed on by torchrun's agent to every worker, whose Trainers stop
    after the same step and save one checkpoint together; this process then exits with status 130.

    Raises:
        DistributedError: a worker failed; the message names the first rank that failed and its error.
            Every rank's own output (its traceback included) went to this process's stderr.
        SystemExit: 130 after Ctrl-C, once the workers have stopped (as a shell expects of Ctrl-C).
    """
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    args = torchrun_args(
        worker_args,
        nproc_per_node=nproc_per_node,
        nnodes=nnodes,
        rdzv_endpoint=rdzv_endpoint,
        rdzv_id=rdzv_id,
        node_rank=node_rank,
        module=module,
    )
    try:
        run(get_args_parser().parse_args(args))  # type: ignore[no-untyped-call]  # torch leaves run() unannotated
    except ChildFailedError as exc:
        raise DistributedError(f"distributed run failed: {_describe(exc)}") from None
    except SignalException as exc:
        if exc.sigval != signal.SIGINT:
            raise
        raise SystemExit(130) from None
