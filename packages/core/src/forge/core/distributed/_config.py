"""Distributed-training configuration: attrs classes only, no torch import (``forge info`` stays light).

:class:`DistributedConfig` is the ``trainer.distributed`` section of a recipe. It changes nothing
in a single-process run: the launch (``forge train --nproc-per-node N``, ``torchrun``,
``accelerate launch``, ``srun``) decides how many processes there are, this section how they work
together.
"""

from __future__ import annotations

from typing import Literal, get_args

import attrs

from forge.core.config import field

__all__ = ["Backend", "DistributedConfig", "FSDPConfig", "Strategy"]

Backend = Literal["auto", "gloo", "nccl"]
Strategy = Literal["ddp", "fsdp"]
ParamDtype = Literal["fp32", "bf16", "fp16"]
FullWeights = Literal["every_checkpoint", "last_checkpoint"]


@attrs.frozen
class FSDPConfig:
    """FSDP2 (``torch.distributed.fsdp.fully_shard``) settings, used when ``strategy = "fsdp"``."""

    param_dtype: ParamDtype = field(
        "fp32",
        help="Dtype parameters are gathered and computed in ('bf16' or 'fp16' for a mixed-precision policy).",
        one_of=("fp32", "bf16", "fp16"),
    )
    reduce_dtype: ParamDtype = field(
        "fp32", help="Dtype gradients are reduced in across ranks.", one_of=("fp32", "bf16", "fp16")
    )
    cpu_offload: bool = field(False, help="Keep sharded parameters, gradients and optimizer state in CPU memory.")
    reshard_after_forward: bool = field(
        True, help="Free gathered parameters after forward (less memory, one more all-gather in backward)."
    )
    full_weights: FullWeights = field(
        "every_checkpoint",
        help="Which checkpoints also hold the whole model, gathered on rank 0, as their 'model' group (what "
        "forge eval, export and serve read): 'every_checkpoint', or 'last_checkpoint' (the end of training "
        "only) for models too large to gather often.",
        one_of=get_args(FullWeights),
    )


@attrs.frozen
class DistributedConfig:
    """How the processes of a multi-process run work together (ignored when there is one process)."""

    strategy: Strategy = field(
        "ddp",
        help="'ddp' (replicated weights, all-reduced gradients) or 'fsdp' (FSDP2 sharded weights).",
        one_of=("ddp", "fsdp"),
    )
    backend: Backend = field(
        "auto",
        help="Process-group backend: 'auto' is NCCL when training on CUDA and gloo on CPU.",
        one_of=("auto", "gloo", "nccl"),
    )
    timeout_s: float = field(
        600.0,
        help="Seconds a collective or barrier waits for the other ranks before the run fails (a dead rank "
        "never hangs the others longer than this).",
        gt=0,
    )
    find_unused_parameters: bool = field(
        False, help="DDP: look for parameters without gradients every step (only for models that skip branches)."
    )
    bucket_cap_mb: float = field(25.0, help="DDP: gradient all-reduce bucket size in MiB.", gt=0)
    static_graph: bool = field(
        False, help="DDP: the set of used parameters never changes between steps (enables DDP's optimizations)."
    )
    gradient_as_bucket_view: bool = field(
        True, help="DDP: gradients are views into the all-reduce buckets (saves one copy of the gradients)."
    )
    broadcast_buffers: bool = field(True, help="DDP: copy rank 0's buffers (BatchNorm statistics) to every rank.")
    fsdp: FSDPConfig = field(factory=FSDPConfig, help="FSDP2 settings (strategy = 'fsdp').")
