"""Sharded checkpoints of FSDP2 models (torch.distributed.checkpoint) and a consolidated export.

Each rank writes its own shard of the weights with ``torch.distributed.checkpoint`` through its
safetensors storage (``HuggingFaceStorageWriter``): no pickle is written, and the checkpoint
loads on any number of ranks (DCP reshards on load). :func:`export_consolidated` gathers the full
weights on rank 0 and writes one plain safetensors file, the form ``forge serve`` and
``load_model`` read.

Optimizer state is not written here: the safetensors storage pickles whatever is not a tensor
(an optimizer's ``param_groups``), and a run directory holds no pickle.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from forge.core.errors import CheckpointError

if TYPE_CHECKING:
    from torch import nn

__all__ = ["export_consolidated", "load_sharded", "save_sharded"]

_MODEL = "model"


def save_sharded(path: str | Path, model: nn.Module) -> Path:
    """Write ``model``'s weights as a sharded checkpoint under ``path``; every rank must call it.

    Returns:
        ``path``, holding ``model/`` with one safetensors shard per rank.
    """
    from torch.distributed.checkpoint.hf_storage import HuggingFaceStorageWriter
    from torch.distributed.checkpoint.state_dict import get_model_state_dict
    from torch.distributed.checkpoint.state_dict_saver import save

    root = Path(path)
    save(
        get_model_state_dict(model), storage_writer=HuggingFaceStorageWriter(str(root / _MODEL), save_distributed=True)
    )
    return root


def load_sharded(path: str | Path, model: nn.Module) -> None:
    """Load weights written by :func:`save_sharded` into ``model``, on any world size; every rank must call it.

    The model may be sharded differently from the one that saved (another world size), or not at
    all (one process loads the whole tensors).

    Raises:
        CheckpointError: ``path`` holds no sharded checkpoint, or it does not fit the model.
    """
    from torch.distributed.checkpoint.hf_storage import HuggingFaceStorageReader
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, set_model_state_dict
    from torch.distributed.checkpoint.state_dict_loader import load

    root = Path(path)
    if not (root / _MODEL).is_dir():
        raise CheckpointError(f"{root}: no sharded checkpoint here (expected a {_MODEL}/ folder of safetensors shards)")
    try:
        state = get_model_state_dict(model)
        load(state, storage_reader=HuggingFaceStorageReader(str(root / _MODEL)))
        set_model_state_dict(model, state)
    except (AssertionError, KeyError, RuntimeError, ValueError) as exc:  # DCP reports a bad file by assertion
        raise CheckpointError(f"{root}: sharded checkpoint does not fit this model: {exc}") from exc


def export_consolidated(path: str | Path, model: nn.Module) -> Path | None:
    """Gather the full weights and write them, on rank 0, as one safetensors file; every rank must call it.

    Returns:
        The file on rank 0; None on the other ranks.
    """
    import torch
    import torch.distributed as dist
    from safetensors.torch import save_file
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    from forge.core._atomic import write_file

    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if dist.is_initialized() and dist.get_rank() != 0:
        return None
    tensors = {k: v.contiguous() for k, v in full.items() if isinstance(v, torch.Tensor)}
    return write_file(path, lambda tmp: save_file(tensors, str(tmp)), durable=True)
