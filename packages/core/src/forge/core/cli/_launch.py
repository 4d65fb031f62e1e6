"""``forge train --nproc-per-node N``: the launch options, and the entry point every worker runs.

The parent process hands the command line (without the launch options) to
:func:`forge.core.distributed.launch`, which starts the workers through torchrun's API as
``python -m forge.core.cli._launch train ...``. A worker runs the ``forge`` command line like the
console script, and records its error for torch's elastic agent, so the parent's failure report
names the rank that failed and its error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

__all__ = ["die_with_launcher", "launch_options", "launch_workers", "root_args", "worker_main"]

F = TypeVar("F", bound=Callable[..., Any])


def launch_options(command: F) -> F:
    """Add ``--nproc-per-node``, ``--nnodes``, ``--rdzv-endpoint`` and ``--node-rank`` to a click command."""
    options = [
        click.option(
            "--nproc-per-node",
            "nproc_per_node",
            type=click.IntRange(min=1),
            default=None,
            help="Train with N processes on this machine (one per GPU), launched through torchrun.",
        ),
        click.option(
            "--nnodes",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="Machines in the run (start the same command on each; needs --rdzv-endpoint).",
        ),
        click.option(
            "--rdzv-endpoint",
            "rdzv_endpoint",
            default=None,
            metavar="HOST:PORT",
            help="Where the machines of a multi-node run meet (one of them, reachable by all).",
        ),
        click.option(
            "--node-rank",
            "node_rank",
            type=click.IntRange(min=0),
            default=None,
            help="This machine's rank in a multi-node run (default: assigned when the machines meet).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def root_args(ctx: click.Context) -> list[str]:
    """The ``forge`` group's options of this invocation (verbosity, log format, disabled plugins), as arguments."""
    params = ctx.find_root().params
    args: list[str] = []
    args += ["-v"] * int(params.get("verbose") or 0)
    if params.get("quiet"):
        args.append("-q")
    if params.get("log_format"):
        args += ["--log-format", str(params["log_format"])]
    for item in params.get("disable_plugins") or ():
        args += ["--disable-plugins", str(item)]
    return args


def launch_workers(
    ctx: click.Context,
    command_args: Sequence[str],
    *,
    nproc_per_node: int,
    nnodes: int,
    rdzv_endpoint: str | None,
    node_rank: int | None,
) -> None:
    """Start ``forge <root options> <command_args>`` in ``nproc_per_node`` workers and wait for them.

    Raises:
        click.UsageError: launch options given inside an already launched worker (torchrun, srun).
        DistributedError: a worker failed (the first failing rank and its error are named).
    """
    from forge.core.distributed import launch

    if "RANK" in os.environ or "SLURM_PROCID" in os.environ and int(os.environ.get("SLURM_NTASKS", "1")) > 1:
        raise click.UsageError(
            "--nproc-per-node starts the processes itself: this process was already started by a launcher "
            "(RANK or SLURM_PROCID is set); drop --nproc-per-node, or run forge without torchrun/srun"
        )
    launch(
        [*root_args(ctx), *command_args],
        nproc_per_node=nproc_per_node,
        nnodes=nnodes,
        rdzv_endpoint=rdzv_endpoint,
        node_rank=node_rank,
    )


def die_with_launcher() -> None:
    """Ask Linux to kill this worker when its launcher dies (elsewhere: nothing).

    torch's agent starts each worker in a session of its own, so a launcher killed outright
    (SIGKILL, an out-of-memory kill) would leave its workers running, orphaned, still training
    with the other nodes. Dying with the launcher makes a lost launcher look like what it is, a
    lost node: the other nodes' ranks fail at their next collective instead of training on with
    ranks nobody watches.
    """
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (AttributeError, OSError):  # no prctl in this C library: keep torch's behaviour
        return
    if os.getppid() != parent:  # the launcher died before the request was made
        os._exit(1)


def worker_main(argv: Sequence[str] | None = None) -> None:
    """Run the ``forge`` command line in a worker started by :func:`forge.core.distributed.launch`.

    Like the console script, with the rank in the ``error:`` line, and every error recorded in
    torch's error file (``TORCHELASTIC_ERROR_FILE``) for the launcher's report. The worker dies
    with its launcher (:func:`die_with_launcher`).
    """
    from torch.distributed.elastic.multiprocessing.errors import ErrorHandler

    from forge.core.cli import cli
    from forge.core.errors import ForgeError

    die_with_launcher()
    handler = ErrorHandler()
    handler.initialize()
    rank = os.environ.get("RANK", "0")
    try:
        cli.main(args=None if argv is None else list(argv), prog_name="forge", standalone_mode=False)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except ForgeError as exc:
        handler.record_exception(exc)
        click.echo(f"error: rank {rank}: {exc}", err=True)
        raise SystemExit(1) from None
    except Exception as exc:
        handler.record_exception(exc)
        raise


if __name__ == "__main__":
    worker_main()
