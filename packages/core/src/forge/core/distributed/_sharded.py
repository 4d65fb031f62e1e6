"""Sharded checkpoints of FSDP2 models (torch.distributed.checkpoint) and a consolidated export.

Each rank writes its own shard of the weights with ``torch.distributed.checkpoint`` through its
safetensors storage (``HuggingFaceStorageWriter``): no pickle is written, and the checkpoint
loads on any number of ranks (DCP reshards on load). :func:`export_consolidated` gathers the full
weights on rank 0 and writes one plain safetensors file, the form ``forge serve`` and
``load_model`` read.

The Trainer's checkpoints of an FSDP run go through :func:`save_training_state` and
:func:`load_training_state`: the model's and the optimizer's tensors (flattened to one key per
tensor, ``model.<fqn>`` and ``optimizer.state.<fqn>.<name>``) are written sharded the same way,
and the optimizer's other values (learning rates, betas...), which the safetensors storage would
pickle, are returned as JSON for the checkpoint's manifest.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forge.core.errors import CheckpointError

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "export_consolidated",
    "file_digests",
    "full_model_state",
    "is_sharded",
    "load_sharded",
    "load_training_state",
    "save_sharded",
    "save_training_state",
    "verify_digests",
]

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


def is_sharded(model: nn.Module) -> bool:
    """Whether ``model``'s parameters are ``DTensor``s (sharded by FSDP2)."""
    from torch.distributed.tensor import DTensor

    return any(isinstance(p, DTensor) for p in model.parameters())


def _rank_world() -> tuple[int, int]:
    from forge.core.distributed._process import world

    return world()


def _options() -> Any:
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    # One key per tensor: the optimizer's values are keyed by parameter name, not by position, so
    # a checkpoint fits any sharding of the same model.
    return StateDictOptions(flatten_optimizer_state_dict=True)


def _split(model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[dict[str, Any], dict[str, Any]]:
    """``({"model.<fqn>" | "optimizer.<key>": tensor}, {"<optimizer key>": JSON-able value})``."""
    import torch
    from torch.distributed.checkpoint.state_dict import get_state_dict

    weights, optim = get_state_dict(model, optimizer, options=_options())
    tensors: dict[str, Any] = {f"model.{k}": v for k, v in weights.items()}
    values: dict[str, Any] = {}
    for key, value in optim.items():
        if isinstance(value, torch.Tensor):
            tensors[f"optimizer.{key}"] = value
        else:
            values[key] = value
    return tensors, values


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence DCP's note that it runs without a process group (one process, by design)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.distributed is disabled.*")
        yield


def save_training_state(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    timeout_s: float = 600.0,
    extra: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, Any]:
    """Write ``model``'s and ``optimizer``'s tensors sharded under ``path``; every rank must call it.

    Rank 0 empties ``path`` first; each rank then writes its own safetensors shard (no pickle).
    Works on a sharded model (FSDP2) and on a whole one, with or without a process group.
    ``extra`` tensors (``DTensor`` shards or whole tensors, e.g. the EMA's averages) are written
    beside them under their own keys, which must not start with ``model.`` or ``optimizer.``.

    Returns:
        The optimizer's values that are not tensors (learning rates, betas...), JSON-able, for the
        checkpoint's manifest: :func:`load_training_state` needs them back.

    Raises:
        CheckpointError: the optimizer holds a value JSON cannot carry.
    """
    from torch.distributed.checkpoint.hf_storage import HuggingFaceStorageWriter
    from torch.distributed.checkpoint.state_dict_saver import save

    from forge.core.distributed._process import barrier

    root = Path(path)
    rank, _ = _rank_world()
    if rank == 0:
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
    barrier("sharded checkpoint folder", timeout_s)
    tensors, values = _split(model, optimizer)
    tensors.update(_extra(root, extra))
    try:
        values = json.loads(json.dumps(values, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{root}: the optimizer holds a value a checkpoint manifest cannot carry: {exc}") from exc
    with _quiet():
        save(tensors, storage_writer=HuggingFaceStorageWriter(str(root), save_distributed=True))
    return dict(values)


def _extra(root: Path, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """``extra``, checked not to collide with the model's and optimizer's keys."""
    clashing = sorted(k for k in extra or {} if k.startswith(("model.", "optimizer.")))
    if clashing:
        raise CheckpointError(f"{root}: extra tensors may not use the model's or optimizer's keys: {clashing[:3]}")
    return dict(extra or {})


def _json_like(template: Any, value: Any) -> Any:
    """``value`` read back from JSON, with the template's tuples (Adam's betas) as tuples again."""
    if isinstance(template, tuple) and isinstance(value, list):
        return tuple(_json_like(t, v) for t, v in zip(template, value, strict=False))
    return value


def load_training_state(
    path: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    values: Mapping[str, Any],
    *,
    extra: Mapping[str, torch.Tensor] | None = None,
) -> None:
    """Load what :func:`save_training_state` wrote into ``model`` and ``optimizer``; every rank must call it.

    The world size and sharding may differ from the run that saved (DCP reads each rank's slices);
    the model may also be whole (one process without FSDP).

    Args:
        path: The folder the shards are in.
        model: The model, sharded as it trains now.
        optimizer: Its optimizer, built after sharding.
        values: The optimizer values :func:`save_training_state` returned.
        extra: Tensors saved as ``save_training_state``'s ``extra``, filled in place (each rank
            its own slices of a ``DTensor``).

    Raises:
        CheckpointError: the shards do not fit this model or optimizer (a tensor or value is
            missing, or has another shape).
    """
    from torch.distributed.checkpoint.hf_storage import HuggingFaceStorageReader
    from torch.distributed.checkpoint.state_dict import set_state_dict
    from torch.distributed.checkpoint.state_dict_loader import load

    root = Path(path)
    if not root.is_dir():
        raise CheckpointError(f"{root}: the checkpoint's sharded folder is missing")
    tensors, template = _split(model, optimizer)
    tensors.update(_extra(root, extra))
    unknown = sorted(set(template) - set(values))
    if unknown:
        raise CheckpointError(
            f"{root}: the checkpoint's optimizer has no value for {unknown[:3]}: it was written for another "
            "optimizer or model"
        )
    try:
        with _quiet():
            load(tensors, storage_reader=HuggingFaceStorageReader(str(root)))
    except (AssertionError, KeyError, RuntimeError, ValueError) as exc:  # DCP reports a bad file by assertion
        raise CheckpointError(f"{root}: sharded checkpoint does not fit this model and optimizer: {exc}") from exc
    import torch

    with torch.no_grad():
        for key, target in (extra or {}).items():
            if tensors[key] is not target:  # DCP fills tensors in place; should it have replaced one, copy it
                target.copy_(tensors[key])
    weights = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    optim: dict[str, Any] = {k.removeprefix("optimizer."): v for k, v in tensors.items() if k.startswith("optimizer.")}
    optim.update({k: _json_like(template[k], values[k]) for k in template})
    set_state_dict(model, optimizer, model_state_dict=weights, optim_state_dict=optim, options=_options())


def file_digests(path: str | Path) -> dict[str, str]:
    """SHA-256 of every file under ``path`` by relative name; every rank must call it.

    The ranks share the hashing (rank ``r`` reads every ``world``-th file); the whole map is
    returned on rank 0, an empty one on the others.
    """
    from forge.core._digest import file_sha256
    from forge.core.distributed._process import gather_to_main

    root = Path(path)
    rank, size = _rank_world()
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    mine = {name: file_sha256(root / name) for name in names[rank::size]}
    gathered = gather_to_main(mine)
    merged: dict[str, str] = {}
    for part in gathered or []:
        merged.update(part)
    return dict(sorted(merged.items()))


def verify_digests(path: str | Path, expected: Mapping[str, str]) -> None:
    """Check the files under ``path`` against ``expected`` (from :func:`file_digests`); every rank must call it.

    Each rank checks its share; every rank learns of any failure, so all raise together.

    Raises:
        CheckpointError: a file is missing, extra or changed (the message names it).
    """
    import torch.distributed as dist

    from forge.core._digest import file_sha256
    from forge.core.distributed._process import _gloo_group, is_initialized

    root = Path(path)
    rank, size = _rank_world()
    problems: list[str] = []
    for name in sorted(expected)[rank::size]:
        file = root / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            problems.append(f"{name!r} lies outside the checkpoint")
        elif not file.is_file():
            problems.append(f"{file} is missing")
        elif (actual := file_sha256(file)) != expected[name]:
            problems.append(f"{file} is corrupted or truncated: expected sha256 {expected[name]}, got {actual}")
    if size > 1 and is_initialized():
        everyone: list[Any] = [None] * size
        dist.all_gather_object(everyone, problems, group=_gloo_group())
        problems = [p for part in everyone for p in part]
    if problems:
        raise CheckpointError(f"sharded checkpoint {root}: {'; '.join(problems[:3])}")


def full_model_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The whole model's weights, gathered on rank 0 in CPU memory (empty on the others); every rank must call it."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    full = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    rank, _ = _rank_world()
    if rank != 0:
        return {}
    import torch

    return {k: v.detach().contiguous() for k, v in full.items() if isinstance(v, torch.Tensor)}
