"""Exponential moving average of the weights, kept beside the raw weights."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import attrs
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from forge.core.errors import CheckpointError
from forge.core.trainer._config import EMAConfig
from forge.core.trainer._events import Callback

if TYPE_CHECKING:
    from forge.core.trainer._protocol import TrainerView

__all__ = ["EMACallback", "build_ema"]

_Tensors = list[torch.Tensor] | tuple[torch.Tensor, ...]


class EMACallback(Callback):
    """Keep ``ema = decay * ema + (1 - decay) * weights`` of every floating-point parameter.

    The average is a ``torch.optim.swa_utils.AveragedModel`` (a copy of the model, ``averaged``)
    whose averaging function applies forge's warmup decay. Buffers (e.g. batch-norm statistics) are
    copied, not averaged. The EMA lives on the model's device, is updated without synchronization,
    saved in checkpoints under ``"ema"`` and never replaces the raw weights in training: resume
    continues from the raw weights. With the trainer's ``eval_with_ema``, every evaluation pass runs on the
    EMA weights (swapped in and back by :meth:`on_evaluation_start` / :meth:`on_evaluation_end`).

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
        self.averaged: AveragedModel | None = None
        self._pairs: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])
        self._buffers: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._evaluation = contextlib.ExitStack()

    @property
    def state_key(self) -> str:
        """Checkpoint key of the EMA state."""
        return "ema"

    def _bind(self, model: nn.Module) -> AveragedModel:
        """Average ``model`` from now on; the average starts as a copy of it unless one exists."""
        if self.averaged is None:
            self.averaged = AveragedModel(model, multi_avg_fn=self._average).requires_grad_(False)
            # AveragedModel copies the weights on its first update; counting the copy as one model
            # makes every update, the first included, follow forge's formula.
            self.averaged.n_averaged.fill_(1)
        pairs = zip(self.averaged.module.parameters(), model.parameters(), strict=True)
        floats = [(a.detach(), p.detach()) for a, p in pairs if p.dtype.is_floating_point]
        self._pairs = ([a for a, _ in floats], [p for _, p in floats])
        self._buffers = list(zip(self.averaged.module.buffers(), model.buffers(), strict=True))
        return self.averaged

    @property
    def shadow(self) -> dict[str, torch.Tensor]:
        """The averaged floating-point parameters by name and the buffers by ``"buffer:<name>"``."""
        if self.averaged is None:
            return {}
        module = self.averaged.module
        shadow = {n: p.detach() for n, p in module.named_parameters() if p.dtype.is_floating_point}
        return shadow | {f"buffer:{n}": b for n, b in module.named_buffers()}

    def on_train_start(self, trainer: TrainerView) -> None:
        """Start the average from the current (possibly resumed) weights, unless a checkpoint gave one."""
        self._bind(trainer.unwrapped_model)

    def current_decay(self) -> float:
        """The decay the next update uses."""
        if self.num_updates < self.warmup:
            return min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        return self.decay

    def _average(self, averages: _Tensors, weights: _Tensors, _: torch.Tensor | int) -> None:
        # The decay comes from the Python count, not AveragedModel's n_averaged tensor: no device read.
        if averages and averages[0].dtype.is_floating_point:
            torch._foreach_lerp_(averages, weights, 1.0 - self.current_decay())

    @torch.no_grad()
    def update(self) -> None:
        """Fold the current weights into the average.

        Does what ``averaged.update_parameters(model)`` does, on tensor lists made once: that method
        walks both modules and copies its step counter to the device (a synchronization) on every
        call, which made an update several times slower.
        """
        self._average(*self._pairs, self.num_updates)
        for average, buffer in self._buffers:
            average.copy_(buffer)
        self.num_updates += 1

    def on_step_end(self, trainer: TrainerView, loss: torch.Tensor) -> None:
        """Update every ``every`` optimizer steps."""
        if trainer.global_step % self.every == 0:
            self.update()

    def on_evaluation_start(self, trainer: TrainerView) -> None:
        """Swap the EMA weights into the model for the evaluation pass when ``eval_with_ema`` is set."""
        if trainer.config.eval_with_ema:
            self._evaluation.enter_context(self.swapped(trainer.unwrapped_model))

    def on_evaluation_end(self, trainer: TrainerView) -> None:
        """Put the raw weights back, bitwise, if :meth:`on_evaluation_start` swapped them out."""
        self._evaluation.close()

    def on_save_checkpoint(self, trainer: TrainerView, state: MutableMapping[str, Any]) -> None:
        """Save the averaged weights and the update count."""
        state[self.state_key] = {
            "weights": self.shadow,
            "num_updates": torch.tensor(self.num_updates, dtype=torch.int64),
        }

    def on_load_checkpoint(self, trainer: TrainerView, state: Mapping[str, Any]) -> None:
        """Restore the averaged weights (copied onto the model's device).

        Raises:
            CheckpointError: The saved average lacks some of the model's parameters.
        """
        saved = state.get(self.state_key)
        if saved is None:
            return
        self._bind(trainer.unwrapped_model)
        shadow = self.shadow
        missing = {n for n in shadow if not n.startswith("buffer:")} - set(saved["weights"])
        if missing:
            raise CheckpointError(f"EMA state has no entry for parameter(s) {sorted(missing)[:5]}")
        with torch.no_grad():
            for name, tensor in saved["weights"].items():
                if name in shadow:
                    shadow[name].copy_(tensor)
        self.num_updates = int(saved["num_updates"])

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The averaged parameters and buffers by their names in the model's state dict."""
        return {n.removeprefix("buffer:"): t for n, t in self.shadow.items()}

    @contextlib.contextmanager
    def swapped(self, model: nn.Module) -> Iterator[nn.Module]:
        """Temporarily put the EMA weights into ``model`` (e.g. for validation), then restore them bitwise."""
        if self.averaged is None:
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
    return EMACallback(**attrs.asdict(config, recurse=False))
