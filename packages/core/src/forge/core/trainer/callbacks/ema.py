"""Exponential moving average of the weights, kept beside the raw weights."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from forge.core.errors import CheckpointError
from forge.core.trainer.config import EMAConfig
from forge.core.trainer.events import Callback

if TYPE_CHECKING:
    from forge.core.trainer.trainer import Trainer

__all__ = ["EMACallback", "build_ema"]


class EMACallback(Callback):
    """Keep ``ema = decay * ema + (1 - decay) * weights`` of every floating-point parameter.

    Buffers (e.g. batch-norm statistics) are copied, not averaged. The EMA lives on the model's
    device, is updated without synchronization, saved in checkpoints under ``"ema"`` and never
    replaces the raw weights in training: resume continues from the raw weights.

    Args:
        decay: Decay per update, in [0, 1).
        warmup: For the first ``warmup`` updates the decay is ``min(decay, (1 + n) / (10 + n))``,
            so the average is not dominated by the random initialization.
        every: Update every N optimizer steps.
    """

    def __init__(self, decay: float = 0.999, *, warmup: int = 0, every: int = 1) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.warmup = warmup
        self.every = max(1, every)
        self.num_updates = 0
        self.shadow: dict[str, torch.Tensor] = {}
        self._params: list[torch.Tensor] = []
        self._ema: list[torch.Tensor] = []
        self._buffers: list[tuple[torch.Tensor, torch.Tensor]] = []

    @property
    def state_key(self) -> str:
        """Checkpoint key of the EMA state."""
        return "ema"

    def _bind(self, model: nn.Module) -> None:
        params = {n: p for n, p in model.named_parameters() if p.dtype.is_floating_point}
        if not self.shadow:
            self.shadow = {n: p.detach().clone() for n, p in params.items()}
            self.shadow.update({f"buffer:{n}": b.detach().clone() for n, b in model.named_buffers()})
        missing = set(params) - set(self.shadow)
        if missing:
            raise CheckpointError(f"EMA state has no entry for parameter(s) {sorted(missing)[:5]}")
        self._params = [p.detach() for p in params.values()]
        self._ema = [self.shadow[n] for n in params]
        self._buffers = [
            (self.shadow[f"buffer:{n}"], b) for n, b in model.named_buffers() if f"buffer:{n}" in self.shadow
        ]

    def on_train_start(self, trainer: Trainer) -> None:
        """Start the average from the current (possibly resumed) weights, unless a checkpoint gave one."""
        self._bind(trainer.unwrapped_model)

    def current_decay(self) -> float:
        """The decay the next update uses."""
        if self.num_updates < self.warmup:
            return min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        return self.decay

    @torch.no_grad()
    def update(self) -> None:
        """Fold the current weights into the average."""
        decay = self.current_decay()
        torch._foreach_lerp_(self._ema, self._params, 1.0 - decay)
        for ema_b, b in self._buffers:
            ema_b.copy_(b)
        self.num_updates += 1

    def on_step_end(self, trainer: Trainer, loss: torch.Tensor) -> None:
        """Update every ``every`` optimizer steps."""
        if trainer.global_step % self.every == 0:
            self.update()

    def on_save_checkpoint(self, trainer: Trainer, state: MutableMapping[str, Any]) -> None:
        """Save the averaged weights and the update count."""
        state[self.state_key] = {
            "weights": dict(self.shadow),
            "num_updates": torch.tensor(self.num_updates, dtype=torch.int64),
        }

    def on_load_checkpoint(self, trainer: Trainer, state: Mapping[str, Any]) -> None:
        """Restore the averaged weights (copied onto the model's device)."""
        saved = state.get(self.state_key)
        if saved is None:
            return
        device = next(trainer.unwrapped_model.parameters()).device
        self.shadow = {n: t.to(device).clone() for n, t in saved["weights"].items()}
        self.num_updates = int(saved["num_updates"])
        self._bind(trainer.unwrapped_model)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The averaged parameters and buffers by their names in the model's state dict."""
        return {n.removeprefix("buffer:"): t for n, t in self.shadow.items()}

    @contextlib.contextmanager
    def swapped(self, model: nn.Module) -> Iterator[nn.Module]:
        """Temporarily put the EMA weights into ``model`` (e.g. for validation), then restore them bitwise."""
        if not self.shadow:
            self._bind(model)
        with torch.no_grad():
            targets: dict[str, torch.Tensor] = dict(model.named_parameters())
            targets.update(dict(model.named_buffers()))
            backup = {}
            for name, t in self.state_dict().items():
                live = targets.get(name)
                if live is not None:
                    backup[name] = live.detach().clone()
                    live.copy_(t)
        try:
            yield model
        finally:
            with torch.no_grad():
                for name, saved in backup.items():
                    targets[name].copy_(saved)


def build_ema(config: EMAConfig) -> EMACallback:
    """Build an :class:`EMACallback` from its config (registered as callback ``core.ema``)."""
    return EMACallback(config.decay, warmup=config.warmup, every=config.every)
