"""The ``core.init_from`` callback: start a new run from another run's weights."""

from __future__ import annotations

from typing import Any

from forge.core.compress._configs import InitFromConfig
from forge.core.errors import CheckpointError
from forge.core.trainer import callback_hook

__all__ = ["InitFromCallback", "build_init_from"]


class InitFromCallback:
    """Load a run's best or last model weights before the first step of a new run.

    A resumed run already holds its own weights, so nothing is loaded once training has begun
    (``global_step > 0``). Runs first among the callbacks, so EMA and pruning see the loaded weights.
    """

    def __init__(self, config: InitFromConfig) -> None:
        self.config = config
        self.loaded_from: str | None = None

    @callback_hook(tryfirst=True)
    def on_train_start(self, trainer: Any) -> None:
        """Copy the weights in (new runs only)."""
        if trainer.global_step > 0:
            return
        from forge.core._run import find_checkpoint

        ckpt = find_checkpoint(self.config.run_dir, self.config.which)
        model = trainer.unwrapped_model
        try:
            result = model.load_state_dict(ckpt.groups["model"], strict=self.config.strict)
        except RuntimeError as exc:
            raise CheckpointError(
                f"callbacks.init_from: {ckpt.path} does not fit this model ({str(exc).splitlines()[0]}); "
                "set strict = false to load only the matching weights"
            ) from exc
        del result
        self.loaded_from = str(ckpt.path)


def build_init_from(config: InitFromConfig) -> InitFromCallback:
    """Builder of the ``core.init_from`` callback."""
    return InitFromCallback(config)
