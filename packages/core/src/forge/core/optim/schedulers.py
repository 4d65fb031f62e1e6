"""Learning-rate schedulers with one interface: :class:`ForgeScheduler`.

Every scheduler is stepped **once per optimizer step** (never per micro-batch, never once per
process), through the same call::

    scheduler.step()                      # after every optimizer.step()
    scheduler.step({"val/loss": 0.41})    # the step right after a validation: pass its metrics

Time-based schedulers (warmup-cosine, one-cycle, step) ignore ``metrics``; the plateau
scheduler acts only when ``metrics`` are given (``requires_metrics`` is true for it and for a
warmup wrapped around it). So a trainer passes the latest validation metrics exactly once, on the
first ``step`` after each validation, and ``None`` otherwise.

The learning rate used by optimizer step ``k`` (counting from 0) is the one the scheduler set
after ``k`` calls to ``step``; building a scheduler sets step 0's rate. ``state_dict`` holds only
numbers and lists (no pickle), so it goes through :func:`forge.core.checkpoint.flatten_state`;
``load_state_dict`` writes the restored learning rates back into the optimizer for exact resume.

Builders return a :class:`SchedulerFactory`: ``factory(optimizer, total_steps) -> ForgeScheduler``.
"""

from __future__ import annotations

import abc
import bisect
import math
from collections.abc import Callable, Mapping
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from forge.core.errors import ConfigError
from forge.core.optim.configs import (
    OneCycleConfig,
    PlateauConfig,
    StepConfig,
    WarmupConfig,
    WarmupCosineConfig,
)

__all__ = [
    "ForgeScheduler",
    "OneCycleScheduler",
    "PlateauScheduler",
    "SchedulerFactory",
    "StepScheduler",
    "TimeBasedScheduler",
    "TorchSchedulerAdapter",
    "WarmupCosineScheduler",
    "WarmupScheduler",
    "build_one_cycle",
    "build_plateau",
    "build_step",
    "build_warmup",
    "build_warmup_cosine",
]

Metrics = Mapping[str, float] | None


class ForgeScheduler(abc.ABC):
    """Base class: a learning-rate schedule stepped once per optimizer step.

    Args:
        optimizer: The optimizer whose param groups' ``lr`` this scheduler sets. Each group's
            starting ``lr`` is recorded as ``initial_lr`` (the base rate of the schedule).

    Attributes:
        optimizer: The optimizer.
        base_lrs: Each group's base learning rate.
        last_step: How many times :meth:`step` was called.
        requires_metrics: Whether :meth:`step` needs validation metrics to do anything.
    """

    requires_metrics: bool = False

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs: list[float] = [float(g["initial_lr"]) for g in optimizer.param_groups]
        self.last_step = 0

    def step(self, metrics: Metrics = None) -> None:
        """Advance one optimizer step.

        Args:
            metrics: The latest validation metrics, on the first step after a validation only;
                ``None`` otherwise. Time-based schedulers ignore them.

        Raises:
            ConfigError: A metric-driven scheduler got metrics without the one it monitors.
        """
        self.last_step += 1
        self._advance(metrics)

    @abc.abstractmethod
    def _advance(self, metrics: Metrics) -> None:
        """Update internal state after ``last_step`` was incremented and set the lrs."""

    @abc.abstractmethod
    def apply(self) -> None:
        """Write the learning rates of the current state into the optimizer."""

    def get_last_lr(self) -> list[float]:
        """The learning rate of each param group, as set for the next optimizer step."""
        return [float(g["lr"]) for g in self.optimizer.param_groups]

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        del state

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state: numbers and lists only.

        Returns:
            ``{"type", "last_step", "base_lrs", "extra"}``.
        """
        return {
            "type": type(self).__name__,
            "last_step": self.last_step,
            "base_lrs": list(self.base_lrs),
            "extra": self._extra_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output and write the learning rates into the optimizer.

        Args:
            state: A state dict of the same scheduler type.

        Raises:
            ConfigError: The state is from another scheduler type or another number of groups.
        """
        if state.get("type") != type(self).__name__:
            raise ConfigError(f"cannot load a {state.get('type')!r} scheduler state into a {type(self).__name__}")
        if len(state["base_lrs"]) != len(self.optimizer.param_groups):
            raise ConfigError(
                f"scheduler state has {len(state['base_lrs'])} param groups, "
                f"the optimizer has {len(self.optimizer.param_groups)}"
            )
        self.last_step = int(state["last_step"])
        self.base_lrs = [float(x) for x in state["base_lrs"]]
        self._load_extra_state(state["extra"])
        self.apply()


class TimeBasedScheduler(ForgeScheduler):
    """A schedule that is a pure function of the step: subclasses define :meth:`lr_at`."""

    def __init__(self, optimizer: Optimizer) -> None:
        super().__init__(optimizer)

    @abc.abstractmethod
    def lr_at(self, step: int, base_lr: float) -> float:
        """The learning rate at ``step`` for a group whose base rate is ``base_lr``."""

    def momentum_at(self, step: int) -> float | None:
        """The momentum at ``step``, or ``None`` to leave momentum alone."""
        del step
        return None

    def _advance(self, metrics: Metrics) -> None:
        del metrics
        self.apply()

    def apply(self) -> None:
        """Set every group's lr (and momentum, where scheduled) for the current step."""
        momentum = self.momentum_at(self.last_step)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = self.lr_at(self.last_step, base)
            if momentum is not None:
                _set_momentum(group, momentum)


def _set_momentum(group: dict[str, Any], momentum: float) -> None:
    if "betas" in group:
        group["betas"] = (momentum, group["betas"][1])
    elif "momentum" in group:
        group["momentum"] = momentum
    else:
        raise ConfigError("cycle_momentum needs an optimizer with 'betas' or 'momentum'; set cycle_momentum=false")


class WarmupCosineScheduler(TimeBasedScheduler):
    """Linear warmup, then cosine annealing with optional warm restarts (SGDR).

    Warmup: ``lr = base * (f + (1 - f) * step / warmup_steps)`` with ``f = warmup_start_factor``.
    Then cycle ``i`` lasts ``cycle_steps * cycle_mult**i`` steps, peaks at
    ``base * cycle_decay**i`` and falls along a half cosine to ``min_lr``. With
    ``cycle_steps=None`` there is one cycle over the remaining steps, after which the rate stays
    at ``min_lr``.

    Args:
        optimizer: The optimizer.
        total_steps: Optimizer steps in the whole run.
        warmup_steps: Steps of linear warmup.
        warmup_start_factor: Fraction of the base rate at step 0.
        cycle_steps: Length of the first cycle (T_0), or ``None``.
        cycle_mult: Growth of each cycle's length (T_mult).
        cycle_decay: Decay of each restart's peak.
        min_lr: The rate at the bottom of each cycle.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        total_steps: int,
        *,
        warmup_steps: int = 0,
        warmup_start_factor: float = 0.0,
        cycle_steps: int | None = None,
        cycle_mult: float = 1.0,
        cycle_decay: float = 1.0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__(optimizer)
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.warmup_start_factor = warmup_start_factor
        self.cycle_steps = cycle_steps
        self.cycle_mult = cycle_mult
        self.cycle_decay = cycle_decay
        self.min_lr = min_lr
        self.apply()

    def _cycle(self, t: int) -> tuple[int, float, float] | None:
        """(cycle index, position in it, its length) for step ``t`` after warmup, or None past the end."""
        if self.cycle_steps is None:
            length = max(1, self.total_steps - self.warmup_steps)
            return None if t >= length else (0, float(t), float(length))
        t0, mult = float(self.cycle_steps), self.cycle_mult
        if mult == 1.0:
            index = int(t // t0)
            return index, t - index * t0, t0
        index = int(math.floor(math.log(t * (mult - 1.0) / t0 + 1.0, mult)))

        def start(i: int) -> float:
            return t0 * (mult**i - 1.0) / (mult - 1.0)

        # Guard the float log against landing one cycle off at a boundary.
        while index > 0 and start(index) > t:
            index -= 1
        while start(index + 1) <= t:
            index += 1
        return index, t - start(index), t0 * mult**index

    def lr_at(self, step: int, base_lr: float) -> float:
        """The learning rate at ``step`` (see the class docstring)."""
        if step < self.warmup_steps:
            f = self.warmup_start_factor
            return base_lr * (f + (1.0 - f) * step / self.warmup_steps)
        cycle = self._cycle(step - self.warmup_steps)
        if cycle is None:
            return self.min_lr
        index, position, length = cycle
        peak = base_lr * self.cycle_decay**index
        return self.min_lr + (peak - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * position / length))


class OneCycleScheduler(TimeBasedScheduler):
    """The one-cycle policy (Smith & Topin, 2017), with momentum cycled inversely.

    The rate rises from ``max_lr / div_factor`` to ``max_lr`` over ``pct_start`` of the steps,
    then falls to ``max_lr / div_factor / final_div_factor`` at the last step.

    Args:
        optimizer: The optimizer.
        total_steps: Optimizer steps in the whole run (at least 2).
        max_lr: The peak rate, or ``None`` to use each group's base rate.
        pct_start: Fraction of steps spent rising.
        div_factor: Initial rate is ``max_lr / div_factor``.
        final_div_factor: Final rate is the initial rate over this.
        anneal: ``"cos"`` or ``"linear"``.
        cycle_momentum: Cycle momentum (SGD's ``momentum`` or Adam's ``beta1``).
        base_momentum: Momentum at the peak rate.
        max_momentum: Momentum at the start and the end.

    Raises:
        ConfigError: ``total_steps`` < 2, or momentum cycling on an optimizer without momentum.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        total_steps: int,
        *,
        max_lr: float | None = None,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        anneal: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
    ) -> None:
        if total_steps < 2:
            raise ConfigError(f"one_cycle needs total_steps >= 2, got {total_steps}")
        super().__init__(optimizer)
        self.total_steps = total_steps
        self.max_lr = max_lr
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.anneal = anneal
        self.cycle_momentum = cycle_momentum
        self.base_momentum = base_momentum
        self.max_momentum = max_momentum
        self.peak_step = max(1.0, pct_start * total_steps - 1.0)
        self.end_step = max(self.peak_step + 1.0, total_steps - 1.0)
        self.apply()

    def _interp(self, start: float, end: float, pct: float) -> float:
        if self.anneal == "cos":
            return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * pct))
        return start + (end - start) * pct

    def _phase(self, step: int) -> tuple[int, float]:
        if step <= self.peak_step:
            return 0, step / self.peak_step
        return 1, min(1.0, (step - self.peak_step) / (self.end_step - self.peak_step))

    def lr_at(self, step: int, base_lr: float) -> float:
        """The learning rate at ``step`` (see the class docstring)."""
        peak = self.max_lr if self.max_lr is not None else base_lr
        initial = peak / self.div_factor
        final = initial / self.final_div_factor
        phase, pct = self._phase(step)
        return self._interp(initial, peak, pct) if phase == 0 else self._interp(peak, final, pct)

    def momentum_at(self, step: int) -> float | None:
        """Momentum at ``step``: high when the rate is low, low at the peak."""
        if not self.cycle_momentum:
            return None
        phase, pct = self._phase(step)
        if phase == 0:
            return self._interp(self.max_momentum, self.base_momentum, pct)
        return self._interp(self.base_momentum, self.max_momentum, pct)


class StepScheduler(TimeBasedScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` steps, or at each of ``milestones``.

    Args:
        optimizer: The optimizer.
        step_size: Steps between decays (used when ``milestones`` is ``None``).
        gamma: The decay factor.
        milestones: Steps at which to decay, instead of a fixed period.
    """

    def __init__(
        self, optimizer: Optimizer, *, step_size: int, gamma: float, milestones: tuple[int, ...] | None = None
    ) -> None:
        super().__init__(optimizer)
        self.step_size = step_size
        self.gamma = gamma
        self.milestones = tuple(sorted(milestones)) if milestones is not None else None
        self.apply()

    def lr_at(self, step: int, base_lr: float) -> float:
        """``base_lr * gamma**k`` where ``k`` is the number of decays before ``step``."""
        k = bisect.bisect_right(self.milestones, step) if self.milestones is not None else step // self.step_size
        return base_lr * self.gamma**k


class PlateauScheduler(ForgeScheduler):
    """Reduce the rate when a monitored metric stops improving (metric-driven).

    Only steps that carry ``metrics`` count; ``patience`` and ``cooldown`` count evaluations.

    Args:
        optimizer: The optimizer.
        monitor: The metric to watch (a key of the ``metrics`` passed to :meth:`step`).
        mode: ``"min"`` or ``"max"``.
        factor: Multiply the rate by this on a plateau.
        patience: Evaluations without improvement tolerated before reducing.
        threshold: Minimum improvement (relative or absolute, per ``threshold_mode``).
        threshold_mode: ``"rel"`` or ``"abs"``.
        cooldown: Evaluations to skip after a reduction.
        min_lr: Lower bound on the rate.
    """

    requires_metrics = True

    def __init__(
        self,
        optimizer: Optimizer,
        *,
        monitor: str = "val/loss",
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__(optimizer)
        self.monitor = monitor
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad = 0
        self.cooldown_left = 0
        self.current_lrs = [float(g["lr"]) for g in optimizer.param_groups]

    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.mode == "min":
            bound = self.best * (1.0 - self.threshold) if self.threshold_mode == "rel" else self.best - self.threshold
            return value < bound
        bound = self.best * (1.0 + self.threshold) if self.threshold_mode == "rel" else self.best + self.threshold
        return value > bound

    def _advance(self, metrics: Metrics) -> None:
        if metrics is None:
            return
        if self.monitor not in metrics:
            raise ConfigError(
                f"plateau scheduler monitors {self.monitor!r}, but the metrics passed to step() have "
                f"only: {', '.join(sorted(metrics)) or '(none)'}"
            )
        value = float(metrics[self.monitor])
        if self._improved(value):
            self.best = value
            self.num_bad = 0
        else:
            self.num_bad += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.num_bad = 0
        if self.num_bad > self.patience:
            self.current_lrs = [max(lr * self.factor, self.min_lr) for lr in self.current_lrs]
            self.cooldown_left = self.cooldown
            self.num_bad = 0
            self.apply()

    def apply(self) -> None:
        """Set every group's lr to the plateau's current rates."""
        for group, lr in zip(self.optimizer.param_groups, self.current_lrs, strict=True):
            group["lr"] = lr

    def _extra_state(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "num_bad": self.num_bad,
            "cooldown_left": self.cooldown_left,
            "current_lrs": list(self.current_lrs),
        }

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.best = float(state["best"])
        self.num_bad = int(state["num_bad"])
        self.cooldown_left = int(state["cooldown_left"])
        self.current_lrs = [float(x) for x in state["current_lrs"]]


class WarmupScheduler(ForgeScheduler):
    """Linear warmup in front of any :class:`ForgeScheduler`.

    For ``warmup_steps`` steps the rate rises linearly from ``start_factor`` times the wrapped
    scheduler's first rate to that rate; then the wrapped scheduler runs from its own step 0.
    Metrics passed during warmup are ignored.

    Args:
        inner: The wrapped scheduler (built on the same optimizer; its schedule should span the
            steps after warmup).
        warmup_steps: Steps of warmup.
        start_factor: Fraction of the target rate at step 0.
    """

    def __init__(self, inner: ForgeScheduler, *, warmup_steps: int, start_factor: float = 0.0) -> None:
        super().__init__(inner.optimizer)
        self.inner = inner
        self.requires_metrics = inner.requires_metrics
        self.warmup_steps = warmup_steps
        self.start_factor = start_factor
        self.target_lrs = inner.get_last_lr()
        self.apply()

    def _advance(self, metrics: Metrics) -> None:
        if self.last_step > self.warmup_steps:
            self.inner.step(metrics)
        else:
            self.apply()

    def apply(self) -> None:
        """Set the warmup rate, or let the wrapped scheduler set its own once warmup is over."""
        if self.last_step >= self.warmup_steps:
            self.inner.apply()
            return
        f = self.start_factor + (1.0 - self.start_factor) * self.last_step / self.warmup_steps
        for group, target in zip(self.optimizer.param_groups, self.target_lrs, strict=True):
            group["lr"] = target * f

    def _extra_state(self) -> dict[str, Any]:
        return {"target_lrs": list(self.target_lrs), "inner": self.inner.state_dict()}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.target_lrs = [float(x) for x in state["target_lrs"]]
        self.inner.load_state_dict(state["inner"])


class TorchSchedulerAdapter(ForgeScheduler):
    """Puts any ``torch.optim.lr_scheduler`` scheduler behind the :class:`ForgeScheduler` interface.

    ``ReduceLROnPlateau`` is stepped with ``metrics[monitor]`` when metrics are given and not
    at all otherwise; any other scheduler is stepped on every call.

    Args:
        scheduler: The torch scheduler.
        monitor: The metric a ``ReduceLROnPlateau`` watches.
    """

    def __init__(self, scheduler: LRScheduler | ReduceLROnPlateau, *, monitor: str = "val/loss") -> None:
        super().__init__(scheduler.optimizer)
        self.scheduler = scheduler
        self.monitor = monitor
        self.requires_metrics = isinstance(scheduler, ReduceLROnPlateau)

    def _advance(self, metrics: Metrics) -> None:
        if isinstance(self.scheduler, ReduceLROnPlateau):
            if metrics is None:
                return
            if self.monitor not in metrics:
                raise ConfigError(
                    f"ReduceLROnPlateau monitors {self.monitor!r}, but step() got only: {', '.join(sorted(metrics))}"
                )
            self.scheduler.step(float(metrics[self.monitor]))
        else:
            self.scheduler.step()

    def apply(self) -> None:
        """Set every group's lr to the torch scheduler's last rates."""
        for group, lr in zip(self.optimizer.param_groups, self.scheduler.get_last_lr(), strict=True):
            group["lr"] = float(lr)

    def _extra_state(self) -> dict[str, Any]:
        return {"torch": self.scheduler.state_dict()}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.scheduler.load_state_dict(dict(state["torch"]))


class SchedulerFactory:
    """Builds a scheduler: ``factory(optimizer, total_steps) -> ForgeScheduler``.

    Args:
        name: The scheduler's name (for messages and ``repr``).
        build: Builds the scheduler.
    """

    def __init__(self, name: str, build: Callable[[Optimizer, int], ForgeScheduler]) -> None:
        self.name = name
        self._build = build

    def __call__(self, optimizer: Optimizer, total_steps: int) -> ForgeScheduler:
        """Build the scheduler for ``optimizer`` over ``total_steps`` optimizer steps.

        Raises:
            ConfigError: ``total_steps`` is negative, or the schedule cannot fit in it.
        """
        if total_steps < 0:
            raise ConfigError(f"{self.name}: total_steps must be >= 0, got {total_steps}")
        return self._build(optimizer, total_steps)

    def __repr__(self) -> str:
        return f"SchedulerFactory({self.name!r})"


def build_warmup_cosine(config: WarmupCosineConfig) -> SchedulerFactory:
    """Build a linear-warmup + cosine (with restarts) scheduler factory.

    Args:
        config: The schedule.

    Returns:
        ``factory(optimizer, total_steps) -> WarmupCosineScheduler``.
    """
    return SchedulerFactory(
        "warmup_cosine",
        lambda optimizer, total_steps: WarmupCosineScheduler(
            optimizer,
            total_steps,
            warmup_steps=config.warmup_steps,
            warmup_start_factor=config.warmup_start_factor,
            cycle_steps=config.cycle_steps,
            cycle_mult=config.cycle_mult,
            cycle_decay=config.cycle_decay,
            min_lr=config.min_lr,
        ),
    )


def build_one_cycle(config: OneCycleConfig) -> SchedulerFactory:
    """Build a one-cycle scheduler factory.

    Args:
        config: The schedule.

    Returns:
        ``factory(optimizer, total_steps) -> OneCycleScheduler``.
    """
    return SchedulerFactory(
        "one_cycle",
        lambda optimizer, total_steps: OneCycleScheduler(
            optimizer,
            total_steps,
            max_lr=config.max_lr,
            pct_start=config.pct_start,
            div_factor=config.div_factor,
            final_div_factor=config.final_div_factor,
            anneal=config.anneal,
            cycle_momentum=config.cycle_momentum,
            base_momentum=config.base_momentum,
            max_momentum=config.max_momentum,
        ),
    )


def build_step(config: StepConfig) -> SchedulerFactory:
    """Build a step-decay scheduler factory.

    Args:
        config: The schedule.

    Returns:
        ``factory(optimizer, total_steps) -> StepScheduler``.
    """
    return SchedulerFactory(
        "step",
        lambda optimizer, total_steps: StepScheduler(
            optimizer, step_size=config.step_size, gamma=config.gamma, milestones=config.milestones
        ),
    )


def build_plateau(config: PlateauConfig) -> SchedulerFactory:
    """Build a reduce-on-plateau scheduler factory.

    Args:
        config: The policy.

    Returns:
        ``factory(optimizer, total_steps) -> PlateauScheduler``.
    """
    return SchedulerFactory(
        "plateau",
        lambda optimizer, total_steps: PlateauScheduler(
            optimizer,
            monitor=config.monitor,
            mode=config.mode,
            factor=config.factor,
            patience=config.patience,
            threshold=config.threshold,
            threshold_mode=config.threshold_mode,
            cooldown=config.cooldown,
            min_lr=config.min_lr,
        ),
    )


def build_warmup(config: WarmupConfig) -> SchedulerFactory:
    """Build a warmup wrapped around another registered scheduler.

    The wrapped scheduler is built through the registry (``config.scheduler`` with
    ``config.options``) and spans ``total_steps - warmup_steps`` steps.

    Args:
        config: The warmup and the wrapped scheduler's name and options.

    Returns:
        ``factory(optimizer, total_steps) -> WarmupScheduler``.

    Raises:
        RegistryError: The wrapped scheduler is unknown.
        ConfigError: Its options are invalid, or it does not build a scheduler factory.
    """
    from forge.core.registry import registry

    inner_factory = registry.build("scheduler", config.scheduler, **config.options)
    if not callable(inner_factory):
        raise ConfigError(f"warmup: scheduler {config.scheduler!r} did not build a scheduler factory")

    def build(optimizer: Optimizer, total_steps: int) -> ForgeScheduler:
        inner = inner_factory(optimizer, max(0, total_steps - config.warmup_steps))
        if not isinstance(inner, ForgeScheduler):
            raise ConfigError(
                f"warmup: scheduler {config.scheduler!r} built a {type(inner).__name__}, not a ForgeScheduler"
            )
        return WarmupScheduler(inner, warmup_steps=config.warmup_steps, start_factor=config.start_factor)

    return SchedulerFactory("warmup", build)
