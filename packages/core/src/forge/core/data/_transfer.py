"""How batches travel from DataLoader workers to the training process.

torch moves every tensor a worker returns into a fresh shared-memory segment and passes its file
descriptor to the main process over a socket. For a large batch that saves copying it; for a small
one (token ids, tabular rows, labels) the segment's creation, the descriptor's passing and the
mapping on the other side cost far more than the bytes. With 2 workers, batches of 64 samples and
32 KiB arrived 4-6x faster through the worker's pipe than through shared memory, on 2 and on 16
CPU cores; from about 1 MiB on, shared memory wins (``benchmarks/worker_transfer.py``,
docs/benchmarks.md). :class:`InlineCollate` sends a batch whose tensors total at most ``max_bytes``
through the pipe as plain bytes, and leaves larger batches to torch's shared memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np
import torch
from torch.utils.data import default_collate, get_worker_info
from torch.utils.data._utils.collate import collate, default_collate_fn_map

from forge.core.data._configs import DEFAULT_INLINE_BYTES

__all__ = ["DEFAULT_INLINE_BYTES", "InlineCollate"]


def _stack(batch: list[torch.Tensor], *, collate_fn_map: Any = None) -> torch.Tensor:
    # torch's own tensor collate allocates the output in shared memory inside a worker; this one does not
    return torch.stack(batch, 0)


def _pipe_collate_map() -> dict[Any, Any]:
    """torch's collate functions with tensors stacked plainly, read per batch so that collate
    functions a plugin registers after forge is imported (forge-graph's graphs) are honoured."""
    return {**default_collate_fn_map, torch.Tensor: _stack}


def _rebuild(data: bytes, dtype: torch.dtype, shape: tuple[int, ...]) -> torch.Tensor:
    """Unpickling side of :class:`_InlineTensor`: a tensor owning a copy of ``data``."""
    if not data:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(data), dtype=dtype).reshape(shape)


class _InlineTensor:
    """Pickles a tensor by value (its bytes), where torch's reducer would share its memory."""

    __slots__ = ("tensor",)

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor

    def __reduce__(self) -> tuple[Callable[..., torch.Tensor], tuple[bytes, torch.dtype, tuple[int, ...]]]:
        t = self.tensor
        flat = t.resolve_conj().resolve_neg().contiguous().reshape(-1)
        data = flat.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        return _rebuild, (data, t.dtype, tuple(t.shape))


def _plain(t: torch.Tensor) -> bool:
    """Whether ``t`` can travel as bytes and come back the same (a dense CPU tensor, no autograd)."""
    return (
        type(t) is torch.Tensor
        and t.device.type == "cpu"
        and t.layout == torch.strided
        and not t.is_quantized
        and not t.requires_grad
    )


def _nbytes(obj: Any) -> int:
    """Bytes of the tensors, arrays and numbers in a sample or a collated batch (numbers count 8,
    as the tensor elements they collate into); -1 when a tensor in it cannot travel as bytes."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size() if _plain(obj) else -1
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if isinstance(obj, (int, float)):  # bool included
        return 8
    values = obj.values() if isinstance(obj, Mapping) else obj if isinstance(obj, (tuple, list)) else ()
    total = 0
    for value in values:
        size = _nbytes(value)
        if size < 0:
            return -1
        total += size
    return total


def _inline(obj: Any) -> Any:
    """``obj`` with its tensors wrapped to pickle by value (tuples, namedtuples, lists and dicts)."""
    if isinstance(obj, torch.Tensor):
        return _InlineTensor(obj)
    if type(obj) is dict:
        return {k: _inline(v) for k, v in obj.items()}
    if type(obj) is list:
        return [_inline(v) for v in obj]
    if isinstance(obj, tuple) and (type(obj) is tuple or hasattr(obj, "_fields")):
        items = [_inline(v) for v in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else tuple(items)
    return obj


@attrs.frozen
class InlineCollate:
    """A worker's collate function that sends small batches through the pipe instead of shared memory.

    With ``collate_fn=None`` it collates as ``default_collate`` does. A batch whose tensors total
    at most ``max_bytes`` is built in ordinary memory and pickled by value; a larger one, or one
    holding a tensor that cannot travel as bytes (a subclass, sparse, quantized, on a GPU, requiring grad), is
    left to torch's shared memory. The main process receives ordinary tensors either way.

    Attributes:
        collate_fn: The collate function to wrap, or ``None`` for torch's default.
        max_bytes: The largest batch (bytes of its tensors) sent through the pipe.
    """

    collate_fn: Callable[[list[Any]], Any] | None = None
    max_bytes: int = attrs.field(default=DEFAULT_INLINE_BYTES, validator=attrs.validators.ge(0))

    def __call__(self, batch: list[Any]) -> Any:
        """Collate ``batch``; only inside a DataLoader worker is anything sent by value."""
        if get_worker_info() is None:  # collating in the main process: nothing travels
            return default_collate(batch) if self.collate_fn is None else self.collate_fn(batch)
        if self.collate_fn is None:
            # estimated from the first sample, so that a large batch is built in shared memory directly
            estimate = _nbytes(batch[0]) * len(batch) if batch else -1
            if not 0 <= estimate <= self.max_bytes:
                return default_collate(batch)
            out = collate(batch, collate_fn_map=_pipe_collate_map())
        else:
            out = self.collate_fn(batch)
        size = _nbytes(out)
        return _inline(out) if 0 <= size <= self.max_bytes else out
