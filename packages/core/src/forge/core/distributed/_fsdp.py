"""FSDP2: shard a model's parameters across ranks with ``torch.distributed.fsdp.fully_shard``, block by block.

A model declares its blocks (the units gathered and freed together) with a ``shard_blocks()``
method returning modules, or as an ``nn.ModuleList`` attribute named ``blocks`` or ``layers``
(forge's MLP, transformer and diffusion models have one). Each block is sharded on its own, then
the root, so only one block's full parameters exist at a time. Activation checkpointing is the
model's own (``trainer.gradient_checkpointing``, switched on before sharding), so the two combine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from forge.core.distributed._config import FSDPConfig
from forge.core.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

__all__ = ["declared_blocks", "shard_model"]

_BLOCK_ATTRIBUTES = ("blocks", "layers")


def declared_blocks(model: nn.Module) -> list[nn.Module]:
    """The blocks ``model`` declares for per-block sharding (see the module docstring).

    Raises:
        ConfigError: ``shard_blocks()`` returned something that is not a module.
    """
    from torch import nn

    method = getattr(model, "shard_blocks", None)
    if callable(method):
        blocks = list(method())
        bad = [type(b).__name__ for b in blocks if not isinstance(b, nn.Module)]
        if bad:
            raise ConfigError(f"{type(model).__name__}.shard_blocks() returned non-modules: {', '.join(bad)}")
        return blocks
    for name in _BLOCK_ATTRIBUTES:
        value = getattr(model, name, None)
        if isinstance(value, nn.ModuleList):
            return list(value)
    return []


def _dtype(name: str) -> Any:
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def shard_model(model: nn.Module, config: FSDPConfig | None = None) -> nn.Module:
    """Shard ``model`` in place over the default process group with FSDP2, one unit per declared block.

    Args:
        model: The model, on its training device (CPU for gloo, the rank's GPU for NCCL).
        config: Mixed-precision policy, CPU offload and resharding (defaults when None).

    Returns:
        ``model`` itself, whose parameters are now sharded ``DTensor``s; build the optimizer after this.

    Raises:
        ConfigError: no process group exists, a declared block is invalid, or CPU offload is asked
            for without CUDA.

    Example:
        >>> model = shard_model(MyTransformer(), FSDPConfig(param_dtype="bf16"))  # doctest: +SKIP
        >>> optimizer = torch.optim.AdamW(model.parameters())  # doctest: +SKIP
    """
    import torch
    import torch.distributed as dist
    from torch.distributed.fsdp import CPUOffloadPolicy, MixedPrecisionPolicy, OffloadPolicy, fully_shard

    config = config or FSDPConfig()
    if config.cpu_offload and not torch.cuda.is_available():
        raise ConfigError(
            "trainer.distributed.fsdp.cpu_offload: needs CUDA (sharded state moves from the GPUs to pinned CPU "
            "memory); without a GPU the parameters are in CPU memory already: set it to false"
        )
    if not (dist.is_available() and dist.is_initialized()):
        raise ConfigError("trainer.distributed.strategy='fsdp' needs a process group: launch with several processes")
    policy = MixedPrecisionPolicy(param_dtype=_dtype(config.param_dtype), reduce_dtype=_dtype(config.reduce_dtype))
    offload = CPUOffloadPolicy() if config.cpu_offload else OffloadPolicy()
    for block in declared_blocks(model):
        fully_shard(block, mp_policy=policy, offload_policy=offload, reshard_after_forward=config.reshard_after_forward)
    # The root keeps what the blocks do not hold (embeddings, heads); it is gathered for the whole step.
    fully_shard(model, mp_policy=policy, offload_policy=offload, reshard_after_forward=False)
    return model
