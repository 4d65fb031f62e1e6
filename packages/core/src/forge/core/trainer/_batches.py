"""Batch arithmetic of the step loop: counting, splitting, and the loss weights of a window.

A *window* is the micro-batches of one optimizer step. Pure functions: nothing here reads or
changes a trainer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

__all__ = ["CountFn", "count_samples", "count_tokens", "host_counts", "split_batch", "split_window", "window_weights"]

CountFn = Callable[[Any], "int | torch.Tensor"]
"""Counts the samples or tokens of a micro-batch (already on the device)."""


def _first_tensor(value: Any) -> Any:
    """The first tensor of a (nested tuple, list or mapping) value, or the value itself."""
    while not isinstance(value, torch.Tensor):
        if isinstance(value, Mapping):
            value = value.get("input_ids", next(iter(value.values()), None))
        elif isinstance(value, (tuple, list)) and value:
            value = value[0]
        else:
            break
    return value


def count_samples(batch: Any) -> int:
    """The first dimension of a batch's input: its first element's first tensor when it is a tuple or list
    (a conditioned input such as ``((image, label), target)`` counts its images)."""
    first = batch[0] if isinstance(batch, (tuple, list)) else batch
    return int(_first_tensor(first).shape[0])


def count_tokens(batch: Any, ignore_index: int = -100) -> torch.Tensor:
    """The targets other than ``ignore_index`` (the second element of a tuple or list), as a device tensor."""
    target = batch[1] if isinstance(batch, (tuple, list)) else batch
    count: torch.Tensor = (target != ignore_index).sum()
    return count


def split_batch(batch: Any, pieces: int) -> list[Any]:
    """Cut every tensor of a (nested tuple, list or mapping) batch into ``pieces`` along dimension 0.

    Values that are not tensors are repeated in every piece.
    """
    if isinstance(batch, torch.Tensor):
        return list(batch.tensor_split(pieces))
    if isinstance(batch, (tuple, list)):
        columns = [split_batch(b, pieces) for b in batch]
        return [type(batch)(col[i] for col in columns) for i in range(pieces)]
    if isinstance(batch, Mapping):
        split = {k: split_batch(v, pieces) for k, v in batch.items()}
        return [{k: v[i] for k, v in split.items()} for i in range(pieces)]
    return [batch] * pieces


def window_weights(
    window: Sequence[Any], count: CountFn | None, *, to_device: Callable[[Any], Any], device: torch.device
) -> list[Any] | None:
    """Per-micro-batch loss weights that make the accumulated loss equal the full-batch loss.

    Args:
        window: The micro-batches of one optimizer step.
        count: Counts a micro-batch's samples or tokens; None weighs micro-batches equally.
        to_device: Moves a micro-batch to ``device`` before it is counted.
        device: Where token counts are kept.

    Returns:
        None for a single micro-batch weighed equally, else one weight per micro-batch (floats, or
        device tensors when ``count`` returns tensors: dividing them needs no synchronization).
    """
    n = len(window)
    if count is None:
        return None if n == 1 else [1.0 / n] * n
    counts = [count(to_device(b)) for b in window]
    if all(isinstance(c, int) for c in counts):
        total = sum(int(c) for c in counts)
        return [int(c) / total for c in counts]
    tensors = [c if isinstance(c, torch.Tensor) else torch.tensor(c, device=device) for c in counts]
    total_t = torch.stack([t.to(torch.float32) for t in tensors]).sum()
    return [t.to(torch.float32) / total_t for t in tensors]


def split_window(
    window: Sequence[Any], weights: list[Any] | None, pieces: int
) -> tuple[Sequence[Any], list[Any] | None]:
    """Cut every micro-batch into ``pieces``, weighted so the step's gradient is unchanged.

    Returns:
        The micro-batches and their weights (unchanged when ``pieces`` is 1).
    """
    if pieces == 1:
        return window, weights
    parts: list[Any] = []
    part_weights: list[Any] = []
    for i, batch in enumerate(window):
        n = count_samples(batch)
        w = 1.0 if weights is None else weights[i]
        for piece in split_batch(batch, pieces):
            parts.append(piece)
            part_weights.append(w * (count_samples(piece) / n))
    return parts, part_weights


def host_counts(batch: Any) -> tuple[int, int]:
    """Samples and tokens of a batch, from tensor shapes only (no device read, O(1)).

    The input is the first tensor of the batch's first element (a tuple or list; of a mapping, its
    ``input_ids`` or first value), or the batch itself. Samples are its first dimension; an integer input of two or
    more dimensions is token ids, and its tokens are its element count (padding included).

    Returns:
        ``(samples, tokens)``; ``(0, 0)`` when the batch holds no tensor input.
    """
    x = _first_tensor(batch[0] if isinstance(batch, (tuple, list)) and batch else batch)
    if not isinstance(x, torch.Tensor) or x.dim() == 0:
        return 0, 0
    integer = not (x.is_floating_point() or x.is_complex() or x.dtype == torch.bool)
    tokens = x.numel() if x.dim() >= 2 and integer else 0
    return int(x.shape[0]), int(tokens)
