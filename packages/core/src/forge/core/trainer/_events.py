"""Training-event hooks: what a callback can implement, and in which order they fire.

Callbacks are pluggy plugins of their own project, ``"forge.trainer"``, managed by one
:class:`CallbackManager` per Trainer (so two Trainers never share callbacks). A callback is any
object with methods named after the hooks below; it implements only the hooks it needs, and the
Trainer calls a hook only when at least one callback implements it, so an unused hook costs nothing
in the step loop. Methods may also be decorated with :data:`callback_hook` to pass pluggy options
(``tryfirst=True``, ``trylast=True``).

Order of events in one ``fit`` (each indented level repeats)::

    on_train_start
      on_epoch_start
        on_step_start                 (once per optimizer step, before its first micro-batch)
          on_before_backward          (once per micro-batch)
          on_after_backward           (once per micro-batch)
        on_before_optimizer_step      (gradients final: unscaled, not yet clipped)
        on_step_end                   (after optimizer, scheduler and zero_grad)
        on_validation_start           (when validation is due: every N steps)
          on_evaluation_start / on_evaluation_end   (around the evaluation pass)
        on_validation_end
        on_save_checkpoint            (when a step checkpoint is due, after that validation)
      on_validation_start ... on_validation_end   (every N epochs, unless a step validation just ran)
      on_epoch_end
      on_save_checkpoint              (the epoch-end checkpoint, written by the checkpoint callback's
                                       on_epoch_end after the other callbacks' on_epoch_end)
    on_save_checkpoint                (the final checkpoint, from on_train_end)
    on_train_end                      (always, also after an exception)

``on_load_checkpoint`` fires once, before ``on_train_start``, when resuming. ``on_exception``
fires when ``fit`` is leaving because of an exception, before ``on_train_end``.
``on_evaluation_start`` / ``on_evaluation_end`` fire around every evaluation pass, also when
``Trainer.validate`` is called on another loader after ``fit`` (the end hook even when the pass fails).

Within one event, callbacks run in the order of
:func:`forge.core.trainer.callbacks.default_callbacks` (EMA and the profiler, then yours, then
early stopping, checkpointing and progress), unless ``tryfirst``/``trylast`` says otherwise.
Every hook receives the trainer as a :class:`forge.core.trainer.TrainerView`: type callbacks against it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import torch

    from forge.core.trainer._protocol import TrainerView

__all__ = [
    "HOOK_NAMES",
    "PROJECT",
    "Callback",
    "CallbackManager",
    "callback_hook",
]

PROJECT = "forge.trainer"
_spec = pluggy.HookspecMarker(PROJECT)
callback_hook = pluggy.HookimplMarker(PROJECT)
"""Optional marker for callback methods that need pluggy options, e.g. ``@callback_hook(tryfirst=True)``."""


class _Specs:
    """The hook specifications (empty bodies; the docstring is the contract)."""

    @_spec
    def on_train_start(self, trainer: TrainerView) -> None:
        """Training is about to start (model, optimizer and data are prepared; state restored on resume)."""

    @_spec
    def on_epoch_start(self, trainer: TrainerView, epoch: int) -> None:
        """Epoch ``epoch`` (0-based) begins."""

    @_spec
    def on_step_start(self, trainer: TrainerView) -> None:
        """An optimizer step begins; ``trainer.global_step`` is the number of steps done so far."""

    @_spec
    def on_before_backward(self, trainer: TrainerView, loss: torch.Tensor) -> None:
        """A micro-batch's (normalized) loss is about to be back-propagated."""

    @_spec
    def on_after_backward(self, trainer: TrainerView) -> None:
        """A micro-batch's gradients were accumulated."""

    @_spec
    def on_before_optimizer_step(self, trainer: TrainerView, optimizer: torch.optim.Optimizer) -> None:
        """Gradients are final (unscaled under fp16) and the optimizer is about to step."""

    @_spec
    def on_step_end(self, trainer: TrainerView, loss: torch.Tensor) -> None:
        """An optimizer step finished; ``loss`` is the step's loss as a detached device tensor."""

    @_spec
    def on_validation_start(self, trainer: TrainerView) -> None:
        """Validation begins."""

    @_spec
    def on_evaluation_start(self, trainer: TrainerView) -> None:
        """An evaluation pass begins (e.g. swap in the weights to evaluate)."""

    @_spec
    def on_evaluation_end(self, trainer: TrainerView) -> None:
        """An evaluation pass ended, normally or not (e.g. swap the training weights back)."""

    @_spec
    def on_validation_end(self, trainer: TrainerView, metrics: Mapping[str, float]) -> None:
        """Validation finished with ``metrics`` (names like ``"val/loss"``)."""

    @_spec
    def on_epoch_end(self, trainer: TrainerView, epoch: int) -> None:
        """Epoch ``epoch`` ended (after any epoch-end validation)."""

    @_spec
    def on_save_checkpoint(self, trainer: TrainerView, state: MutableMapping[str, Any]) -> None:
        """A checkpoint is being written; put this callback's state (tensors allowed) into ``state[name]``."""

    @_spec
    def on_load_checkpoint(self, trainer: TrainerView, state: Mapping[str, Any]) -> None:
        """A checkpoint was loaded; read this callback's state back from ``state``."""

    @_spec
    def on_exception(self, trainer: TrainerView, exception: BaseException) -> None:
        """``fit`` is leaving because of ``exception``."""

    @_spec
    def on_train_end(self, trainer: TrainerView) -> None:
        """Training ended (normally, by early stopping, or by an exception)."""


HOOK_NAMES: tuple[str, ...] = (
    "on_train_start",
    "on_epoch_start",
    "on_step_start",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_step_end",
    "on_validation_start",
    "on_evaluation_start",
    "on_evaluation_end",
    "on_validation_end",
    "on_epoch_end",
    "on_save_checkpoint",
    "on_load_checkpoint",
    "on_exception",
    "on_train_end",
)
"""Every hook, in the documented order of first firing (``on_load_checkpoint`` fires before training when resuming)."""


class Callback:
    """Optional base class for callbacks; it implements no hook, so only what you define is called.

    ``state_key`` names the callback's entry in checkpoints (defaults to the class name).
    """

    @property
    def state_key(self) -> str:
        """The key of this callback's state inside a checkpoint."""
        return type(self).__name__


class CallbackManager(pluggy.PluginManager):
    """A pluggy manager that accepts plain methods named after a hook, without a marker."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.add_hookspecs(_Specs)

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        """Treat any routine named like a hook as an implementation (pluggy options if marked)."""
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name in HOOK_NAMES and inspect.isroutine(getattr(plugin, name, None)):
            return {
                "wrapper": False,
                "hookwrapper": False,
                "optionalhook": False,
                "tryfirst": False,
                "trylast": False,
                "specname": None,
            }
        return opts

    def implements(self, hook: str) -> bool:
        """Whether any registered callback implements ``hook``."""
        return bool(getattr(self.hook, hook).get_hookimpls())
