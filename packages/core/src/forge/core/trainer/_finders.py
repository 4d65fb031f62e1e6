"""Learning-rate range test and batch-size finder.

Both leave the model and optimizer as they found them (state is copied and restored).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
import torch
from torch import nn

from forge.core._logging import get_logger
from forge.core.errors import ConfigError

__all__ = ["LRFinderResult", "find_batch_size", "find_lr", "is_oom"]

_log = get_logger("forge.trainer")


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` is an out-of-memory error (CUDA, MPS or host allocator)."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


@attrs.frozen
class LRFinderResult:
    """The outcome of :func:`find_lr`.

    Attributes:
        lrs: Learning rates tried, increasing.
        losses: Smoothed loss after each step.
        suggestion: The rate at the steepest loss descent (a good starting max rate).
        diverged_at: The rate where the loss blew up, or None.
    """

    lrs: list[float]
    losses: list[float]
    suggestion: float
    diverged_at: float | None


def _cycle(loader: Iterable[Any]) -> Iterator[Any]:
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ConfigError("find_lr/find_batch_size: the data loader yielded no batch")


def find_lr(
    model: nn.Module,
    loader: Iterable[Any],
    loss_fn: Callable[..., torch.Tensor],
    optimizer: torch.optim.Optimizer,
    *,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    num_steps: int = 100,
    smoothing: float = 0.05,
    diverge_factor: float = 4.0,
    device: torch.device | str | None = None,
) -> LRFinderResult:
    """Run the LR range test: raise the rate exponentially each step and watch the loss.

    Args:
        model: The model (restored afterwards).
        loader: ``(input, target)`` batches (cycled if shorter than ``num_steps``).
        loss_fn: ``loss_fn(model(x), y)``.
        optimizer: An optimizer over ``model``'s parameters (restored afterwards).
        min_lr: First rate.
        max_lr: Last rate.
        num_steps: Steps from ``min_lr`` to ``max_lr``.
        smoothing: Exponential smoothing of the loss curve.
        diverge_factor: Stop when the smoothed loss exceeds this times the best.
        device: Where to run (default: the model's device).

    Returns:
        An :class:`LRFinderResult`; ``suggestion`` is the rate with the steepest smoothed descent.

    Raises:
        ConfigError: bad bounds, or an empty loader.
    """
    if not 0 < min_lr < max_lr or num_steps < 3:
        raise ConfigError(f"find_lr: need 0 < min_lr < max_lr and num_steps >= 3 (got {min_lr}, {max_lr}, {num_steps})")
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    model_state = copy.deepcopy(model.state_dict())
    opt_state = copy.deepcopy(optimizer.state_dict())
    ratio = (max_lr / min_lr) ** (1.0 / (num_steps - 1))
    lrs: list[float] = []
    losses: list[float] = []
    best = math.inf
    avg = 0.0
    diverged: float | None = None
    model.train()
    try:
        batches = _cycle(loader)
        for i in range(num_steps):
            lr = min_lr * ratio**i
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = next(batches)
            x, y = x.to(dev), y.to(dev)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            optimizer.step()
            value = float(loss.item())  # the test is about the loss curve: reading it each step is the point
            avg = smoothing * value + (1 - smoothing) * avg if i else value
            lrs.append(lr)
            losses.append(avg)
            if not math.isfinite(avg) or avg > diverge_factor * best:
                diverged = lr
                break
            best = min(best, avg)
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(opt_state)
        optimizer.zero_grad(set_to_none=True)
    finite = [(lr, loss) for lr, loss in zip(lrs, losses, strict=True) if math.isfinite(loss)]
    if len(finite) < 3:
        suggestion = finite[0][0] if finite else min_lr
    else:
        # Steepest descent of the smoothed loss against log(lr).
        slopes = [
            (finite[i + 1][1] - finite[i - 1][1]) / (math.log(finite[i + 1][0]) - math.log(finite[i - 1][0]))
            for i in range(1, len(finite) - 1)
        ]
        suggestion = finite[1 + min(range(len(slopes)), key=slopes.__getitem__)][0]
    _log.info("lr_finder", suggestion=suggestion, diverged_at=diverged, steps=len(lrs))
    return LRFinderResult(lrs=lrs, losses=losses, suggestion=suggestion, diverged_at=diverged)


def find_batch_size(
    model: nn.Module,
    make_batch: Callable[[int], Any],
    loss_fn: Callable[..., torch.Tensor],
    *,
    start: int = 1,
    max_batch_size: int = 4096,
    steps_per_trial: int = 2,
    device: torch.device | str | None = None,
) -> int:
    """Find the largest batch size whose forward and backward fit in memory, by doubling then bisecting.

    Args:
        model: The model (its gradients are cleared afterwards; weights are not changed).
        make_batch: ``make_batch(n) -> (input, target)`` with ``n`` samples.
        loss_fn: ``loss_fn(model(x), y)``.
        start: First batch size tried.
        max_batch_size: Upper bound (also the answer on hosts that never run out of memory).
        steps_per_trial: Forward/backward passes per trial (the second catches allocator growth).
        device: Where to run (default: the model's device).

    Returns:
        The largest batch size that fitted.

    Raises:
        ConfigError: even ``start`` does not fit.
    """
    dev = torch.device(device) if device is not None else next(model.parameters()).device

    def fits(n: int) -> bool:
        try:
            for _ in range(steps_per_trial):
                x, y = make_batch(n)
                loss = loss_fn(model(x.to(dev)), y.to(dev))
                loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
                model.zero_grad(set_to_none=True)
            return True
        except Exception as exc:
            if not is_oom(exc):
                raise
            model.zero_grad(set_to_none=True)
            if dev.type == "cuda":
                torch.cuda.empty_cache()
            return False

    if not fits(start):
        raise ConfigError(f"find_batch_size: even batch size {start} runs out of memory")
    good, bad = start, None
    while good < max_batch_size:
        trial = min(good * 2, max_batch_size)
        if fits(trial):
            good = trial
        else:
            bad = trial
            break
    while bad is not None and bad - good > 1:
        mid = (good + bad) // 2
        if fits(mid):
            good = mid
        else:
            bad = mid
    _log.info("batch_size_finder", batch_size=good)
    return good
