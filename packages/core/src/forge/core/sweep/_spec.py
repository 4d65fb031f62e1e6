"""Sweep and ablation specifications (TOML, YAML or JSON files, or built in Python)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from forge.core.config import field
from forge.core.errors import ConfigError

__all__ = ["AblationSpec", "ParamSpec", "SweepSpec", "load_spec"]

Scalar = bool | int | float | str


@attrs.frozen
class ParamSpec:
    """One searched parameter: a recipe key path and its range or choices."""

    key: str = field(help="Dotted recipe key, e.g. optimizer.lr.")
    type: Literal["float", "int", "categorical"] = field(
        help="float, int or categorical.", validator=attrs.validators.in_(("float", "int", "categorical"))
    )
    low: float | None = field(None, help="Lower bound (float and int).")
    high: float | None = field(None, help="Upper bound (float and int).")
    log: bool = field(False, help="Sample on a log scale (float and int).")
    step: float | None = field(None, help="Step (float and int); the grid sampler needs it or choices.")
    choices: tuple[Any, ...] = field((), help="Values of a categorical parameter (any JSON values).")

    def __attrs_post_init__(self) -> None:
        where = f"params.{self.key}"
        if self.type == "categorical":
            if not self.choices:
                raise ConfigError(f"{where}: a categorical parameter needs choices = [...]")
        elif self.low is None or self.high is None or not self.low < self.high:
            raise ConfigError(f"{where}: needs low < high (got low={self.low}, high={self.high})")
        elif self.log and self.low <= 0:
            raise ConfigError(f"{where}: log = true needs low > 0 (got {self.low})")

    def encoded_choices(self) -> tuple[Scalar, ...]:
        """Choices Optuna can store: scalars as they are, lists and tables as JSON text."""
        return tuple(c if isinstance(c, (bool, int, float, str)) else json.dumps(c) for c in self.choices)

    def grid(self) -> list[Scalar]:
        """Every value the grid sampler visits."""
        if self.type == "categorical":
            return list(self.encoded_choices())
        if self.step is None:
            raise ConfigError(f"params.{self.key}: the grid sampler needs step (or use type = categorical)")
        assert self.low is not None and self.high is not None  # checked in __attrs_post_init__
        count = int(round((self.high - self.low) / self.step)) + 1
        values: list[Scalar] = [self.low + i * self.step for i in range(count)]
        return [int(v) for v in values] if self.type == "int" else values


@attrs.frozen
class SweepSpec:
    """A hyperparameter search over one recipe."""

    recipe: str = field(help="Recipe file or registered name.")
    metric: str = field(help="The metric to optimise, as the run reports it (val/accuracy, test/loss, ...).")
    params: tuple[ParamSpec, ...] = field(help="The searched parameters.")
    direction: Literal["maximize", "minimize"] = field(
        "maximize", help="maximize or minimize.", validator=attrs.validators.in_(("maximize", "minimize"))
    )
    sampler: Literal["grid", "random", "tpe"] = field(
        "tpe", help="grid, random or tpe (Bayesian).", validator=attrs.validators.in_(("grid", "random", "tpe"))
    )
    trials: int = field(10, help="Trials this worker runs (the grid stops when exhausted).")
    seed: int = field(0, help="Seed of the sampler.")
    pruner: Literal["median", "none"] = field(
        "median",
        help="median: stop trials below the median of earlier ones at the same step.",
        validator=attrs.validators.in_(("median", "none")),
    )
    overrides: tuple[str, ...] = field((), help="Overrides applied to every trial.")
    storage: str | None = field(None, help="SQLAlchemy URL of the study (default: sqlite in the sweep folder).")
    name: str = field("sweep", help="The study's name (workers sharing a storage and name share a sweep).")

    def __attrs_post_init__(self) -> None:
        if self.trials < 1:
            raise ConfigError(f"trials: {self.trials} must be >= 1")
        if not self.params:
            raise ConfigError("params: a sweep needs at least one parameter")


@attrs.frozen
class AblationSpec:
    """Named config parts switched off one at a time, each over several seeds."""

    recipe: str = field(help="Recipe file or registered name.")
    metric: str = field(help="The metric compared.")
    ablate: Mapping[str, tuple[str, ...]] = field(help="Part name -> the overrides that remove it.")
    seeds: tuple[int, ...] = field((0, 1, 2), help="Seeds each variant runs with.")
    overrides: tuple[str, ...] = field((), help="Overrides applied to every run.")
    confidence: float = field(0.95, help="Level of the intervals.")

    def __attrs_post_init__(self) -> None:
        if len(self.seeds) < 2:
            raise ConfigError("seeds: an interval over seeds needs at least two seeds")
        if not self.ablate:
            raise ConfigError("ablate: name at least one part to remove")


def _params(raw: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: params must be a table of key = {{ type = ..., ... }}")
    out = []
    for key, body in raw.items():
        if not isinstance(body, Mapping):
            raise ConfigError(f"{source}: params.{key} must be a table like {{ type = 'float', low = 0, high = 1 }}")
        out.append({"key": key, **body})
    return out


def load_spec(path: str | os.PathLike[str]) -> SweepSpec | AblationSpec:
    """Read a sweep (``kind = "sweep"``, the default) or ablation (``kind = "ablation"``) spec file.

    Raises:
        ConfigError: the file cannot be read or a field is wrong (named with the file and key).
    """
    from forge.core.config import load_file, structure

    source = str(path)
    data = dict(load_file(Path(path)))
    kind = data.pop("kind", "sweep")
    if kind == "ablation":
        return structure(data, AblationSpec, where=source)
    if kind != "sweep":
        raise ConfigError(f"{source}: kind {kind!r}: expected sweep or ablation")
    data["params"] = _params(data.get("params"), source)
    return structure(data, SweepSpec, where=source)
