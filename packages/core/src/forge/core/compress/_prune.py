"""Magnitude pruning through the trainer, with masks that live in the weights themselves.

The callback keeps one boolean mask per pruned weight and multiplies it into the weight after
every optimizer step, so pruned weights stay exactly zero while the rest fine-tune; checkpoints
hold ordinary state dicts with the zeros in them (the pruning is permanent wherever the weights
go: export, serving, a fresh ``load_state_dict``), and the masks are saved with the callback's
state so a resumed run continues the same schedule.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

import torch
from torch import nn

from forge.core.compress._configs import PruningConfig
from forge.core.trainer import callback_hook

__all__ = ["PruningCallback", "build_pruning", "cubic_sparsity", "sparsity"]


def cubic_sparsity(step: int, final: float, start: int, end: int, initial: float = 0.0) -> float:
    """Sparsity at ``step`` on Zhu & Gupta's schedule: ``s_f + (s_i - s_f)(1 - (t - t0)/(t1 - t0))^3``."""
    if step < start:
        return 0.0
    if step >= end:
        return final
    progress = (step - start) / (end - start)
    return final + (initial - final) * (1.0 - progress) ** 3


def _prunable(model: nn.Module, layers: str) -> list[tuple[str, torch.nn.Parameter]]:
    kinds: tuple[type[nn.Module], ...] = {
        "conv_linear": (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear),
        "linear": (nn.Linear,),
        "conv": (nn.Conv1d, nn.Conv2d, nn.Conv3d),
    }[layers]
    return [
        (f"{name}.weight", m.weight)
        for name, m in model.named_modules()
        if isinstance(m, kinds) and isinstance(m.weight, torch.nn.Parameter)
    ]


def sparsity(model: nn.Module, layers: str = "conv_linear") -> float:
    """The fraction of exactly-zero weights over the prunable layers of ``model``."""
    weights = [p for _, p in _prunable(model, layers)]
    total = sum(p.numel() for p in weights)
    return sum(int((p == 0).sum()) for p in weights) / total if total else 0.0


class PruningCallback:
    """Prune the weights of conv and linear layers to ``sparsity`` on a cubic schedule."""

    state_key = "pruning"

    def __init__(self, config: PruningConfig | None = None) -> None:
        self.config = config or PruningConfig()
        self.masks: dict[str, torch.Tensor] = {}
        self._params: dict[str, torch.nn.Parameter] = {}
        self.current = 0.0

    def _mask(self, weight: torch.Tensor, amount: float) -> torch.Tensor:
        if self.config.structured:
            norms = weight.detach().flatten(1).norm(dim=1)
            k = int(round(amount * norms.numel()))
            keep = torch.ones_like(norms, dtype=torch.bool)
            if k:
                keep[norms.argsort()[:k]] = False
            return keep.view(-1, *([1] * (weight.dim() - 1))).expand_as(weight).clone()
        k = int(round(amount * weight.numel()))
        if k == 0:
            return torch.ones_like(weight, dtype=torch.bool)
        threshold = weight.detach().abs().flatten().kthvalue(k).values
        mask = weight.detach().abs() > threshold
        # ties at the threshold: keep exactly numel - k weights
        short = (weight.numel() - k) - int(mask.sum())
        if short > 0:
            ties = ((weight.detach().abs() == threshold) & ~mask).flatten().nonzero().flatten()[:short]
            mask.view(-1)[ties] = True
        return mask

    def _apply(self) -> None:
        with torch.no_grad():
            for name, p in self._params.items():
                mask = self.masks.get(name)
                if mask is not None:
                    p.mul_(mask.to(p.device))

    def on_train_start(self, trainer: Any) -> None:
        """Find the prunable weights and apply the masks a resumed run restored."""
        self._params = dict(_prunable(trainer.unwrapped_model, self.config.layers))
        self._update(trainer.global_step, force=bool(self.masks))

    def _update(self, step: int, *, force: bool = False) -> None:
        c = self.config
        amount = cubic_sparsity(step, c.sparsity, c.start_step, c.end_step)
        due = step >= c.start_step and ((step - c.start_step) % c.every == 0 or step >= c.end_step)
        if (due and amount != self.current) or (force and not self.masks):
            self.masks = {name: self._mask(p, amount) for name, p in self._params.items()}
            self.current = amount
        self._apply()

    def on_step_end(self, trainer: Any, loss: torch.Tensor) -> None:
        """Recompute the masks when the schedule says so, and keep pruned weights at zero."""
        self._update(trainer.global_step)

    @callback_hook(tryfirst=True)  # before the checkpoint callback writes the final checkpoint
    def on_train_end(self, trainer: Any) -> None:
        """Reach the final sparsity when the run ended before ``end_step``."""
        if self._params and self.current < self.config.sparsity:
            self.masks = {name: self._mask(p, self.config.sparsity) for name, p in self._params.items()}
            self.current = self.config.sparsity
            self._apply()

    def on_save_checkpoint(self, trainer: Any, state: MutableMapping[str, Any]) -> None:
        """Save the masks and the sparsity reached."""
        state[self.state_key] = {
            "masks": {k: v.to(torch.uint8).cpu() for k, v in self.masks.items()},
            "current": torch.tensor(self.current, dtype=torch.float64),
        }

    def on_load_checkpoint(self, trainer: Any, state: Mapping[str, Any]) -> None:
        """Restore the masks of a resumed run."""
        saved = state.get(self.state_key)
        if saved is not None:
            self.masks = {k: v.bool() for k, v in saved["masks"].items()}
            self.current = float(saved["current"])


def build_pruning(config: PruningConfig) -> PruningCallback:
    """Builder of the ``core.pruning`` callback."""
    return PruningCallback(config)
