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
numbers, strings and lists (no pickle), so it goes through :func:`forge.core._checkpoint.flatten_state`;
``load_state_dict`` writes the restored learning rates back into the optimizer for exact resume.

The registered schedules run on ``torch.optim.lr_scheduler`` (``OneCycleLR``, ``StepLR``,
``MultiStepLR``, ``ReduceLROnPlateau``) behind :class:`TorchSchedulerAdapter`; warmup-cosine and
the warmup wrapper are written here, because torch has no scheduler computing them (see their
docstrings). Builders return a :class:`SchedulerFactory`: ``factory(optimizer, total_steps) -> ForgeScheduler``.
"""

from __future__ import annotations

import abc
import math
import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, MultiStepLR, OneCycleLR, ReduceLROnPlateau, StepLR

from forge.core.errors import ConfigError
from forge.core.optim._configs import (
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

# forge steps its scheduler right after each optimizer step it makes; one that GradScaler skipped
# (inf gradients) is not the call-order mistake this torch warning is about.
warnings.filterwarnings("ignore", r"Detected call of `lr_scheduler\.step\(\)` before", UserWarning, re.escape(__name__))


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
        """The scheduler's state: numbers, strings and lists only.

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
            state: A state dict of the same scheduler type (forge-core 0.1's included).

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


class TorchSchedulerAdapter(ForgeScheduler):
    """Puts any ``torch.optim.lr_scheduler`` scheduler behind the :class:`ForgeScheduler` interface.

    ``ReduceLROnPlateau`` is stepped with ``metrics[monitor]`` when metrics are given (a value
    that is not finite counts as no improvement) and not at all otherwise; any other scheduler is
    stepped on every call.

    Args:
        scheduler: The torch scheduler.
        monitor: The metric a ``ReduceLROnPlateau`` watches.
    """

    def __init__(self, scheduler: LRScheduler, *, monitor: str = "val/loss") -> None:
        super().__init__(scheduler.optimizer)
        self.scheduler = scheduler
        self.monitor = monitor
        self.requires_metrics = isinstance(scheduler, ReduceLROnPlateau)

    def _advance(self, metrics: Metrics) -> None:
        if not isinstance(self.scheduler, ReduceLROnPlateau):
            self.scheduler.step()
        elif metrics is not None:
            if self.monitor not in metrics:
                raise ConfigError(
                    f"{type(self).__name__} monitors {self.monitor!r}, but the metrics passed to step() have "
                    f"only: {', '.join(sorted(metrics)) or '(none)'}"
                )
            value = float(metrics[self.monitor])
            self.scheduler.step(value if math.isfinite(value) else math.nan)

    def apply(self) -> None:
        """Set every group's lr to the torch scheduler's last rates."""
        for group, lr in zip(self.optimizer.param_groups, self.scheduler.get_last_lr(), strict=True):
            group["lr"] = float(lr)

    def _extra_state(self) -> dict[str, Any]:
        return {"torch": self.scheduler.state_dict()}

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        if "torch" in state:
            self.scheduler.load_state_dict(dict(state["torch"]))
            return
        # forge-core 0.1's time-based schedules kept only the step count: replay the steps from
        # the fresh schedule's first rates (chainable torch schedulers scale the current lr).
        steps, self.last_step = self.last_step, 0
        self.apply()
        while self.last_step < steps:
            self.step()


class _WarmupCosineLR(LRScheduler):
    def __init__(self, optimizer: Optimizer, total_steps: int, config: WarmupCosineConfig) -> None:
        self._config, self._total_steps = config, total_steps
        super().__init__(optimizer)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in super().state_dict().items() if k != "_config"}

    def _cycle(self, t: int) -> tuple[int, float, float] | None:
        """(cycle index, position in it, its length) for step ``t`` after warmup, or None past the end."""
        c = self._config
        if c.cycle_steps is None:
            length = max(1, self._total_steps - c.warmup_steps)
            return None if t >= length else (0, float(t), float(length))
        t0, mult = float(c.cycle_steps), c.cycle_mult
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

    def get_lr(self) -> list[float | Tensor]:
        c, step = self._config, self.last_epoch
        if step < c.warmup_steps:
            f = c.warmup_start_factor + (1.0 - c.warmup_start_factor) * step / c.warmup_steps
            return [base * f for base in self.base_lrs]
        cycle = self._cycle(step - c.warmup_steps)
        if cycle is None:
            return [c.min_lr for _ in self.base_lrs]
        index, position, length = cycle
        shape = 0.5 * (1.0 + math.cos(math.pi * position / length))
        return [c.min_lr + (base * c.cycle_decay**index - c.min_lr) * shape for base in self.base_lrs]


class WarmupCosineScheduler(TorchSchedulerAdapter):
    """Linear warmup, then cosine annealing with optional warm restarts (SGDR).

    Warmup: ``lr = base * (f + (1 - f) * step / warmup_steps)`` with ``f = warmup_start_factor``.
    Then cycle ``i`` lasts ``cycle_steps * cycle_mult**i`` steps, peaks at
    ``base * cycle_decay**i`` and falls along a half cosine to ``min_lr``. With
    ``cycle_steps=None`` there is one cycle over the remaining steps, after which the rate stays
    at ``min_lr``.

    The schedule is written here, not composed from torch's: ``CosineAnnealingWarmRestarts``
    takes no peak decay and only an integer ``T_mult``, ``CosineAnnealingLR`` climbs back up after
    ``T_max`` instead of holding ``min_lr``, and ``LinearLR`` cannot start from 0 (the default
    ``warmup_start_factor``).

    Args:
        optimizer: The optimizer.
        total_steps: Optimizer steps in the whole run.
        config: The schedule; or give its fields as keyword arguments (``warmup_steps=...``).
    """

    def __init__(
        self, optimizer: Optimizer, total_steps: int, config: WarmupCosineConfig | None = None, **options: Any
    ) -> None:
        super().__init__(_WarmupCosineLR(optimizer, total_steps, config or WarmupCosineConfig(**options)))


_ONE_CYCLE_KEYS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")


class OneCycleScheduler(TorchSchedulerAdapter):
    """The one-cycle policy (Smith & Topin, 2017) on torch's ``OneCycleLR``, momentum cycled inversely.

    The rate rises from ``max_lr / div_factor`` to ``max_lr`` over ``pct_start`` of the steps
    (at least one step), then falls to ``max_lr / div_factor / final_div_factor`` at the last
    step and stays there if stepped further (where ``OneCycleLR`` would raise).

    Args:
        optimizer: The optimizer.
        total_steps: Optimizer steps in the whole run (at least 2).
        config: The schedule; or give its fields as keyword arguments (``max_lr=...``).
            ``max_lr=None`` peaks at each group's learning rate.

    Raises:
        ConfigError: ``total_steps`` < 2, or momentum cycling on an optimizer without momentum.
    """

    def __init__(
        self, optimizer: Optimizer, total_steps: int, config: OneCycleConfig | None = None, **options: Any
    ) -> None:
        config = config or OneCycleConfig(**options)
        if total_steps < 2:
            raise ConfigError(f"one_cycle needs total_steps >= 2, got {total_steps}")
        if config.cycle_momentum and not {"betas", "momentum"} & optimizer.defaults.keys():
            raise ConfigError("cycle_momentum needs an optimizer with 'betas' or 'momentum'; set cycle_momentum=false")
        kwargs = attrs.asdict(config, recurse=False)
        kwargs["anneal_strategy"] = kwargs.pop("anneal")
        if config.max_lr is None:
            kwargs["max_lr"] = [g.get("initial_lr", g["lr"]) for g in optimizer.param_groups]
        # OneCycleLR's rise ends at step pct_start * steps - 1 and its fall at steps - 1; forge's
        # rise lasts at least one step, and so does its fall.
        steps = self._steps = max(total_steps, 3)
        kwargs["pct_start"] = max(config.pct_start * total_steps, 2.0) / steps
        super().__init__(OneCycleLR(optimizer, total_steps=steps, **kwargs))
        # OneCycleLR keeps its rates and momenta in the param groups; forge-core 0.1's optimizer states lack them.
        self._phase_keys = [{k: g[k] for k in _ONE_CYCLE_KEYS if k in g} for g in optimizer.param_groups]

    def _advance(self, metrics: Metrics) -> None:
        if self.last_step < self._steps:
            super()._advance(metrics)

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        if "torch" not in state:
            for group, keys in zip(self.optimizer.param_groups, self._phase_keys, strict=True):
                group.update(keys)
        super()._load_extra_state(state)


class StepScheduler(TorchSchedulerAdapter):
    """Multiply the rate by ``gamma`` every ``step_size`` steps, or at each of ``milestones``.

    Runs on torch's ``StepLR`` (or ``MultiStepLR`` with milestones).

    Args:
        optimizer: The optimizer.
        total_steps: Unused (the schedule does not depend on the run's length).
        config: The schedule; or give its fields as keyword arguments (``step_size=...``).
    """

    def __init__(
        self, optimizer: Optimizer, total_steps: int = 0, config: StepConfig | None = None, **options: Any
    ) -> None:
        c = config or StepConfig(**options)
        if c.milestones is None:
            super().__init__(StepLR(optimizer, c.step_size, c.gamma))
        else:
            super().__init__(MultiStepLR(optimizer, list(c.milestones), c.gamma))


class PlateauScheduler(TorchSchedulerAdapter):
    """Reduce the rate when a monitored metric stops improving (``ReduceLROnPlateau``, metric-driven).

    Only steps that carry ``metrics`` count; ``patience`` and ``cooldown`` count evaluations. A
    metric that is not finite counts as no improvement.

    Args:
        optimizer: The optimizer.
        total_steps: Unused (the schedule does not depend on the run's length).
        config: The policy; or give its fields as keyword arguments (``patience=...``).
    """

    def __init__(
        self, optimizer: Optimizer, total_steps: int = 0, config: PlateauConfig | None = None, **options: Any
    ) -> None:
        c = config or PlateauConfig(**options)
        # eps=0: reduce by every factor asked for, however small the rate already is.
        kwargs = {k: v for k, v in attrs.asdict(c, recurse=False).items() if k != "monitor"}
        plateau = ReduceLROnPlateau(optimizer, **kwargs, eps=0.0)
        super().__init__(plateau, monitor=c.monitor)

    def _load_extra_state(self, state: Mapping[str, Any]) -> None:
        if "torch" not in state:  # saved by forge-core 0.1's own plateau scheduler
            torch_state = self.scheduler.state_dict() | {"best": state["best"], "_last_lr": list(state["current_lrs"])}
            torch_state |= {"num_bad_epochs": state["num_bad"], "cooldown_counter": state["cooldown_left"]}
            state = {"torch": torch_state}
        super()._load_extra_state(state)


class WarmupScheduler(ForgeScheduler):
    """Linear warmup in front of any :class:`ForgeScheduler`.

    For ``warmup_steps`` steps the rate rises linearly from ``start_factor`` times the wrapped
    scheduler's first rate to that rate; then the wrapped scheduler runs from its own step 0.
    Metrics passed during warmup are ignored.

    Written here rather than with torch's ``SequentialLR`` + ``LinearLR``: those cannot wrap
    ``ReduceLROnPlateau`` or another ``SequentialLR``, warm up to the base rate instead of the
    wrapped schedule's first rate, and cannot start from 0 (the default ``start_factor``).

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

    Returns:
        ``factory(optimizer, total_steps) -> WarmupCosineScheduler``.
    """
    return SchedulerFactory("warmup_cosine", lambda optimizer, steps: WarmupCosineScheduler(optimizer, steps, config))


def build_one_cycle(config: OneCycleConfig) -> SchedulerFactory:
    """Build a one-cycle scheduler factory.

    Returns:
        ``factory(optimizer, total_steps) -> OneCycleScheduler``.
    """
    return SchedulerFactory("one_cycle", lambda optimizer, steps: OneCycleScheduler(optimizer, steps, config))


def build_step(config: StepConfig) -> SchedulerFactory:
    """Build a step-decay scheduler factory.

    Returns:
        ``factory(optimizer, total_steps) -> StepScheduler``.
    """
    return SchedulerFactory("step", lambda optimizer, steps: StepScheduler(optimizer, steps, config))


def build_plateau(config: PlateauConfig) -> SchedulerFactory:
    """Build a reduce-on-plateau scheduler factory.

    Returns:
        ``factory(optimizer, total_steps) -> PlateauScheduler``.
    """
    return SchedulerFactory("plateau", lambda optimizer, steps: PlateauScheduler(optimizer, steps, config))


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
    from forge.core._registry import registry

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
