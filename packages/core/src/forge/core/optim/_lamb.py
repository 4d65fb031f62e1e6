"""LAMB: layer-wise adaptive moments for large-batch training (You et al., 2019, arXiv:1904.00962).

For each parameter tensor ``w`` with gradient ``g`` at step ``t``::

    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)      (when bias_correction)
    u = m_hat / (sqrt(v_hat) + eps) + weight_decay * w
    trust = ||w|| / ||u||   (1 when either norm is 0; at most trust_clip when set)
    w = w - lr * trust * u

The trust ratio makes each layer's step proportional to its own weight norm, so one learning rate
suits layers of very different scale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

__all__ = ["Lamb"]


class Lamb(Optimizer):
    """The LAMB optimizer.

    Args:
        params: Parameters or parameter groups.
        lr: Learning rate.
        betas: Coefficients of the running averages of the gradient and its square.
        eps: Added to the denominator for numerical stability.
        weight_decay: Decoupled weight decay, added to the Adam update before the trust ratio.
        bias_correction: Apply Adam's bias correction.
        trust_clip: Upper bound on the trust ratio, or ``None``.

    Raises:
        ValueError: An argument is out of range.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.01,
        *,
        bias_correction: bool = True,
        trust_clip: float | None = None,
    ) -> None:
        if lr <= 0.0:
            raise ValueError(f"Lamb: lr must be > 0, got {lr}")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Lamb: betas must be in [0, 1), got {betas}")
        if eps <= 0.0:
            raise ValueError(f"Lamb: eps must be > 0, got {eps}")
        if weight_decay < 0.0:
            raise ValueError(f"Lamb: weight_decay must be >= 0, got {weight_decay}")
        if trust_clip is not None and trust_clip <= 0.0:
            raise ValueError(f"Lamb: trust_clip must be > 0, got {trust_clip}")
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "bias_correction": bias_correction,
            "trust_clip": trust_clip,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]  # torch's overloads of step are narrower than its own implementations
        """Take one optimization step.

        Args:
            closure: Re-evaluates the model and returns the loss (optional).

        Returns:
            The closure's loss, or ``None``.

        Raises:
            RuntimeError: A gradient is sparse.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if grad.is_sparse:
                    raise RuntimeError("Lamb does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                step = float(state["step"])
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.mul_(beta1).add_(grad, alpha=1.0 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                if group["bias_correction"]:
                    m_hat = exp_avg / (1.0 - beta1**step)
                    v_hat = exp_avg_sq / (1.0 - beta2**step)
                else:
                    m_hat, v_hat = exp_avg, exp_avg_sq
                update = m_hat / (v_hat.sqrt() + group["eps"])
                if group["weight_decay"] != 0.0:
                    update.add_(p, alpha=group["weight_decay"])
                # Norms of half-precision tensors in float32 (their sums of squares overflow).
                w_norm = torch.linalg.vector_norm(p, dtype=torch.promote_types(p.dtype, torch.float32))
                u_norm = torch.linalg.vector_norm(update, dtype=w_norm.dtype)
                # No .item(): the ratio stays on device so a CUDA step never synchronizes.
                trust = torch.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, torch.ones_like(w_norm))
                if group["trust_clip"] is not None:
                    trust = trust.clamp(max=group["trust_clip"])
                p.add_(update * trust.to(update.dtype), alpha=-group["lr"])
        return loss
