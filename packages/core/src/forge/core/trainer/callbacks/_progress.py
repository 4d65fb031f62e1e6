"""Training progress: a live bar on an interactive terminal, plain periodic lines elsewhere."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from forge.core._logging import get_logger
from forge.core.trainer._events import Callback

if TYPE_CHECKING:
    import torch

    from forge.core.trainer._protocol import TrainerView

__all__ = ["ProgressCallback"]

_log = get_logger("forge.trainer")
_RATE_EVERY_S = 0.5  # how often the bar's throughput field is recomputed


class ProgressCallback(Callback):
    """Show steps done out of the total, the epoch, throughput, time left and the last validation.

    With ``bar`` a :mod:`rich` bar is drawn on stderr; it redirects stderr while it runs, so log
    lines appear above it rather than glued onto it. Without, a plain ``progress`` log line is
    written every ``every_s`` seconds (for logs, CI and ``nohup``). Neither reads the loss or any
    device value (that would synchronize the device every step): throughput comes from the
    trainer's host-side sample and token counts, and the loss is in the step log lines.

    Args:
        bar: Draw a live bar (True) or write plain lines (False).
        every_s: Seconds between plain lines; 0 writes one after every step.
        quiet: Write no plain lines (industrial mode's "warning" log level).
    """

    def __init__(self, *, bar: bool = True, every_s: float = 30.0, quiet: bool = False) -> None:
        self.bar, self.every_s, self.quiet = bar, every_s, quiet
        self._progress: Any = None
        self._task: Any = None
        self._total: int | None = None
        self._start = (0.0, 0)  # (time, step) when training started
        self._mark = (0.0, 0, 0)  # (time, samples, tokens) at the last rate update

    @staticmethod
    def wanted(setting: bool | None) -> bool:
        """Whether to draw a bar: the explicit setting, else only on an interactive terminal."""
        return setting if setting is not None else sys.stderr.isatty()

    def on_train_start(self, trainer: TrainerView) -> None:
        """Open the bar (or start the clock of the plain lines)."""
        total = trainer.config.max_steps
        if total is None and trainer.steps_per_epoch is not None and trainer.config.max_epochs is not None:
            total = trainer.steps_per_epoch * trainer.config.max_epochs
        self._total = total
        now = time.monotonic()
        self._start = (now, trainer.global_step)
        self._mark = (now, trainer.samples_seen, trainer.tokens_seen)
        if not self.bar:
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]train[/] epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[info]}"),
            console=Console(stderr=True),
            transient=False,
            redirect_stderr=True,
            redirect_stdout=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            "train", total=total, completed=trainer.global_step, epoch=trainer.epoch + 1, rate="", info=""
        )

    def _rates(self, trainer: TrainerView, now: float) -> dict[str, float]:
        since, samples, tokens = self._mark
        elapsed = max(now - since, 1e-9)
        self._mark = (now, trainer.samples_seen, trainer.tokens_seen)
        rates = {"samples_per_s": round((trainer.samples_seen - samples) / elapsed, 1)}
        if trainer.tokens_seen > tokens:
            rates["tokens_per_s"] = round((trainer.tokens_seen - tokens) / elapsed, 1)
        return rates

    def on_step_end(self, trainer: TrainerView, loss: torch.Tensor) -> None:
        """Advance the bar, or write a plain line when ``every_s`` seconds have passed."""
        now = time.monotonic()
        due = now - self._mark[0] >= (_RATE_EVERY_S if self.bar else self.every_s)
        if self._progress is not None:
            if due:
                rate = " ".join(f"{v:,.0f} {k.removesuffix('_per_s')}/s" for k, v in self._rates(trainer, now).items())
                self._progress.update(self._task, advance=1, epoch=trainer.epoch_label, rate=rate)
            else:
                self._progress.advance(self._task)
            return
        if due and not self.quiet:
            self._line(trainer, now)

    def _line(self, trainer: TrainerView, now: float) -> None:
        step, total = trainer.global_step, self._total
        started, first = self._start
        line: dict[str, Any] = {"step": step, "epoch": trainer.epoch_label}
        if total:
            line["total_steps"] = total
            line["percent"] = round(100.0 * step / total, 1)
            if step > first:
                line["eta_s"] = round((now - started) / (step - first) * max(total - step, 0), 1)
        line.update(self._rates(trainer, now))
        _log.info("progress", **line)

    def on_validation_end(self, trainer: TrainerView, metrics: Mapping[str, float]) -> None:
        """Show the latest validation metrics on the bar."""
        if self._progress is not None:
            info = " ".join(f"{k}={v:.4g}" for k, v in metrics.items())
            self._progress.update(self._task, info=info)

    def on_train_end(self, trainer: TrainerView) -> None:
        """Close the bar."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
