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

    A model sharded by FSDP2 cannot be deep-copied: its average is kept per parameter instead, as
    a sharded copy of each (``DTensor``) parameter, updated on each rank's local shard by the same
    formula (so the average equals the one-process average, element by element). The Trainer
    saves it in the checkpoint's shards (:meth:`sharded_state`) and gathers it whole on rank 0
    for the checkpoint's ``"ema"`` group (:meth:`full_weights`), the one evaluation and export read.

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
        # FSDP2: the average of each sharded parameter ("<name>") and buffer ("buffer:<name>"),
        # and the model's parameters in the same order (their local shards are read at each update).
        self._sharded: dict[str, torch.Tensor] | None = None
        self._sharded_params: list[torch.Tensor] = []
        self._pairs: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])
        self._buffers: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._evaluation = contextlib.ExitStack()

    @property
    def state_key(self) -> str:
        """Checkpoint key of the EMA state."""
        return "ema"

    @torch.no_grad()
    def _bind(self, model: nn.Module) -> None:
        """Average ``model`` from now on; the average starts as a copy of it unless one exists."""
        if self._sharded is not None or _is_sharded(model):
            self._bind_sharded(model)
            return
        if self.averaged is None:
            self.averaged = AveragedModel(model, multi_avg_fn=self._average).requires_grad_(False)
            # AveragedModel copies the weights on its first update; counting the copy as one model
            # makes every update, the first included, follow forge's formula.
            self.averaged.n_averaged.fill_(1)
        pairs = zip(self.averaged.module.parameters(), model.parameters(), strict=True)
        floats = [(a.detach(), p.detach()) for a, p in pairs if p.dtype.is_floating_point]
        self._pairs = ([a for a, _ in floats], [p for _, p in floats])
        self._buffers = list(zip(self.averaged.module.buffers(), model.buffers(), strict=True))

    def _bind_sharded(self, model: nn.Module) -> None:
        """:meth:`_bind` for a model sharded by FSDP2: per-parameter sharded copies, no module copy."""
        _reshard(model)  # named_parameters() yields the sharded parameters only while resharded
        params = {n: p for n, p in model.named_parameters() if p.dtype.is_floating_point}
        buffers = dict(model.named_buffers())
        if self._sharded is None:
            shadow = {n: p.detach().clone() for n, p in params.items()}
            self._sharded = shadow | {f"buffer:{n}": b.detach().clone() for n, b in buffers.items()}
        names = [n for n in self._sharded if not n.startswith("buffer:")]
        missing = sorted(set(names) ^ set(params))
        if missing:
            raise CheckpointError(f"EMA average and model differ in parameter(s) {missing[:5]}")
        # The parameters themselves, not their local tensors: FSDP2 may re-point a parameter's
        # local shard (at its lazy initialization), so the shards are looked up at each update.
        self._sharded_params = [params[n] for n in names]
        self._pairs = ([self._sharded[n] for n in names], [])
        self._buffers = [
            (self._sharded[f"buffer:{n}"], b) for n, b in buffers.items() if f"buffer:{n}" in self._sharded
        ]

    @property
    def shadow(self) -> dict[str, torch.Tensor]:
        """The averaged floating-point parameters by name and the buffers by ``"buffer:<name>"``.

        For a model sharded by FSDP2, the parameters' averages are ``DTensor`` shards.
        """
        if self._sharded is not None:
            return dict(self._sharded)
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
        if self._sharded is not None:
            # FSDP2: the same formula on each rank's local shards (elementwise, so exactly the
            # one-process average of the same weights).
            averages = [_local(a) for a in self._pairs[0]]
            self._average(averages, [_local(p.detach()) for p in self._sharded_params], self.num_updates)
        else:
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
        """Save the averaged weights and the update count.

        Sharded (FSDP2) averages are not written here (this runs on rank 0 alone): the Trainer
        saves them with the checkpoint's shards and adds the whole ones, gathered by every rank
        (:meth:`full_weights`), as ``"weights"``.
        """
        saved: dict[str, Any] = {"num_updates": torch.tensor(self.num_updates, dtype=torch.int64)}
        if self._sharded is None:
            saved["weights"] = self.shadow
        state[self.state_key] = saved

    def on_load_checkpoint(self, trainer: TrainerView, state: Mapping[str, Any]) -> None:
        """Restore the averaged weights (copied onto the model's device) and the update count.

        Without ``"weights"`` (a sharded checkpoint whose averages the Trainer restored from its
        shards), only the count. Whole weights given to a sharded average are split over the ranks
        (every rank takes part).

        Raises:
            CheckpointError: The saved average lacks some of the model's parameters.
        """
        saved = state.get(self.state_key)
        if saved is None:
            return
        self._bind(trainer.unwrapped_model)
        if "weights" in saved:
            shadow = self.shadow
            missing = {n for n in shadow if not n.startswith("buffer:")} - set(saved["weights"])
            if missing:
                raise CheckpointError(f"EMA state has no entry for parameter(s) {sorted(missing)[:5]}")
            with torch.no_grad():
                for name, tensor in saved["weights"].items():
                    if name in shadow and self._sharded is not None:
                        _copy_whole(shadow[name], tensor)
                    elif name in shadow:
                        shadow[name].copy_(tensor)
        self.num_updates = int(saved["num_updates"])

    def sharded_state(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """The averages as a sharded checkpoint holds them: ``"ema.<param>"`` and ``"ema_buffer.<buffer>"``.

        The tensors themselves (``DTensor`` shards under FSDP2, whole tensors otherwise), so a
        sharded load fills them in place; the average starts from ``model`` when none exists yet.
        """
        if self._sharded is None and self.averaged is None:
            self._bind(model)
        return {_shard_key(n): t for n, t in self.shadow.items()}

    @torch.no_grad()
    def full_weights(self) -> dict[str, torch.Tensor]:
        """The whole averages on rank 0, in CPU memory (empty on the other ranks); every rank must call it.

        Sharded averages are gathered (one all-gather per parameter, in the same order on every
        rank); whole ones are copied.
        """
        from forge.core.distributed._process import world

        full: dict[str, torch.Tensor] = {}
        for name, tensor in self.shadow.items():
            whole = tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor
            full[name] = whole.detach().cpu().clone()
        return full if world()[0] == 0 else {}

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The averaged parameters and buffers by their names in the model's state dict."""
        return {n.removeprefix("buffer:"): t for n, t in self.shadow.items()}

    @contextlib.contextmanager
    def swapped(self, model: nn.Module) -> Iterator[nn.Module]:
        """Temporarily put the EMA weights into ``model`` (e.g. for validation), then restore them bitwise."""
        if self.averaged is None and self._sharded is None:
            self._bind(model)
        if self._sharded is not None:
            with self._swapped_sharded(model):
                yield model
            return
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

    @contextlib.contextmanager
    def _swapped_sharded(self, model: nn.Module) -> Iterator[None]:
        """:meth:`swapped` for FSDP2: the averages go into each rank's local shards.

        The model is resharded before (so the shards are what the next forward gathers) and after
        (so no gathered copy of the averages outlives the evaluation: FSDP2 keeps the root's
        parameters gathered after a forward without backward).
        """
        assert self._sharded is not None
        _reshard(model)
        live: dict[str, torch.Tensor] = dict(model.named_parameters())
        live.update({f"buffer:{n}": b for n, b in model.named_buffers()})
        backup: list[tuple[torch.Tensor, torch.Tensor]] = []
        with torch.no_grad():
            for name, average in self._sharded.items():
                target = live.get(name)
                if target is not None:
                    local = _local(target.detach())
                    backup.append((target, local.clone()))
                    local.copy_(_local(average))
        try:
            yield
        finally:
            _reshard(model)
            with torch.no_grad():
                for target, saved in backup:
                    _local(target.detach()).copy_(saved)


def _is_sharded(model: nn.Module) -> bool:
    if not torch.distributed.is_available():  # builds without torch.distributed have no DTensor
        return False
    from forge.core.distributed._sharded import is_sharded

    return is_sharded(model)


def _local(tensor: torch.Tensor) -> torch.Tensor:
    """A ``DTensor``'s local shard (the very storage, under no_grad), or the tensor itself."""
    from torch.distributed.tensor import DTensor

    return tensor.to_local() if isinstance(tensor, DTensor) else tensor


def _reshard(model: nn.Module) -> None:
    """Free every gathered FSDP2 parameter of ``model`` (its modules hold their shards again)."""
    from torch.distributed.fsdp import FSDPModule

    for module in model.modules():
        if isinstance(module, FSDPModule):
            module.reshard()


def _copy_whole(target: torch.Tensor, whole: torch.Tensor) -> None:
    """Copy a whole tensor into ``target``, which may be a ``DTensor`` shard (every rank takes part then)."""
    from torch.distributed.tensor import DTensor, distribute_tensor

    if isinstance(target, DTensor):
        part = distribute_tensor(whole.to(target.device, target.dtype), target.device_mesh, target.placements)
        _local(target).copy_(_local(part))
    else:
        target.copy_(whole)


def _shard_key(name: str) -> str:
    """The key of an average in a sharded checkpoint (no ``:`` in a tensor's name there)."""
    if name.startswith("buffer:"):
        return "ema_buffer." + name.removeprefix("buffer:")
    return "ema." + name


def build_ema(config: EMAConfig) -> EMACallback:
    """Build an :class:`EMACallback` from its config (registered as callback ``core.ema``)."""
    return EMACallback(**attrs.asdict(config, recurse=False))
