"""Every deprecated name of forge-core, in one place, with the warning it raises.

In the style of pytest's ``_pytest/deprecated.py``: when a public name moves or is renamed, the old
spelling keeps working for one minor version and warns with :class:`ForgeDeprecationWarning`,
which says what to use instead and in which release the old name goes away. Nothing else in
forge-core keeps compatibility shims; a module that lost a name forwards its ``__getattr__`` to
:func:`moved_attribute`, and old module paths are served by :func:`install_module_aliases`.

This module imports nothing from forge, so any module may use it without an import cycle.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from types import ModuleType
from typing import Any

__all__ = [
    "MOVED_ATTRIBUTES",
    "MOVED_MODULES",
    "REMOVED_IN",
    "ForgeDeprecationWarning",
    "install_module_aliases",
    "moved_attribute",
    "warn_deprecated",
]

REMOVED_IN = "0.3.0"
"""The release in which every alias below is removed."""


class ForgeDeprecationWarning(DeprecationWarning):
    """A forge name that still works but has moved; the message says where to and until when."""


MOVED_ATTRIBUTES: dict[str, dict[str, str]] = {
    "forge.core.trainer._trainer": {"build_trainer": "forge.core.trainer:Trainer"},
    "forge.core._recipe": {
        "RunResult": "forge.core:RunResult",
        "build_loaders": "forge.core:build_loaders",
        "resume_run": "forge.core:resume_run",
        "run_recipe": "forge.core:run_recipe",
        "evaluate_run": "forge.core.evaluator:evaluate_run",
        "wilson_interval": "forge.core.evaluator:wilson_interval",
    },
    "forge.core._run": {"load_model": "forge.core:load_model"},
    "forge.core._logging": {"configure": "forge.core:configure_logging"},
    "forge.core.data._fingerprint": {
        "canonical_json": "forge.core._digest:canonical_json",
        "fingerprint_config": "forge.core.data:digest",
    },
}
"""Module (its ``__name__``) -> {old attribute name: ``"new.module:new_name"``}."""

MOVED_MODULES: dict[str, str] = {
    "forge.core.checkpoint": "forge.core._checkpoint",
    "forge.core.cli.train": "forge.core.cli._train",
    "forge.core.data.cache": "forge.core.data._cache",
    "forge.core.data.catalog": "forge.core.data._catalog",
    "forge.core.data.compose": "forge.core.data._compose",
    "forge.core.data.configs": "forge.core.data._configs",
    "forge.core.data.fingerprint": "forge.core.data._fingerprint",
    "forge.core.data.imbalance": "forge.core.data._imbalance",
    "forge.core.data.loader": "forge.core.data._loader",
    "forge.core.data.pii": "forge.core.data._pii",
    "forge.core.data.schema": "forge.core.data._schema",
    "forge.core.data.seeding": "forge.core.data._seeding",
    "forge.core.data.sharding": "forge.core.data._sharding",
    "forge.core.data.streaming": "forge.core.data._streaming",
    "forge.core.data.synthetic": "forge.core.data._synthetic",
    "forge.core.data.tabular": "forge.core.data._tabular",
    "forge.core.data.tensor_transforms": "forge.core.data._tensor_transforms",
    "forge.core.data.text": "forge.core.data._text",
    "forge.core.data.timeseries": "forge.core.data._timeseries",
    "forge.core.data.transfer": "forge.core.data._transfer",
    "forge.core.data.types": "forge.core.data._types",
    "forge.core.doctor": "forge.core._doctor",
    "forge.core.evaluator.intervals": "forge.core.evaluator._intervals",
    "forge.core.evaluator.report": "forge.core.evaluator._report",
    "forge.core.logging": "forge.core._logging",
    "forge.core.losses.catalog": "forge.core.losses._catalog",
    "forge.core.losses.configs": "forge.core.losses._configs",
    "forge.core.losses.functional": "forge.core.losses._functional",
    "forge.core.losses.modules": "forge.core.losses._modules",
    "forge.core.metrics.builders": "forge.core.metrics._builders",
    "forge.core.metrics.catalog": "forge.core.metrics._catalog",
    "forge.core.metrics.configs": "forge.core.metrics._configs",
    "forge.core.models.catalog": "forge.core.models._catalog",
    "forge.core.models.configs": "forge.core.models._configs",
    "forge.core.models.mlp": "forge.core.models._mlp",
    "forge.core.optim.catalog": "forge.core.optim._catalog",
    "forge.core.optim.configs": "forge.core.optim._configs",
    "forge.core.optim.lamb": "forge.core.optim._lamb",
    "forge.core.optim.optimizers": "forge.core.optim._optimizers",
    "forge.core.optim.schedulers": "forge.core.optim._schedulers",
    "forge.core.plugin": "forge.core._plugin",
    "forge.core.plugins": "forge.core._plugins",
    "forge.core.recipe": "forge.core._recipe",
    "forge.core.registry": "forge.core._registry",
    "forge.core.reproducibility": "forge.core._reproducibility",
    "forge.core.run": "forge.core._run",
    "forge.core.trainer.callbacks.checkpointing": "forge.core.trainer.callbacks._checkpointing",
    "forge.core.trainer.callbacks.early_stopping": "forge.core.trainer.callbacks._early_stopping",
    "forge.core.trainer.callbacks.ema": "forge.core.trainer.callbacks._ema",
    "forge.core.trainer.callbacks.lr_monitor": "forge.core.trainer.callbacks._lr_monitor",
    "forge.core.trainer.callbacks.profiler": "forge.core.trainer.callbacks._profiler",
    "forge.core.trainer.callbacks.progress": "forge.core.trainer.callbacks._progress",
    "forge.core.trainer.catalog": "forge.core.trainer._catalog",
    "forge.core.trainer.config": "forge.core.trainer._config",
    "forge.core.trainer.events": "forge.core.trainer._events",
    "forge.core.trainer.finders": "forge.core.trainer._finders",
    "forge.core.trainer.trainer": "forge.core.trainer._trainer",
}
"""Old module path -> the module that replaces it (forge-core 0.2 underscore-prefixed its implementation modules)."""


def warn_deprecated(old: str, new: str, stacklevel: int) -> None:
    """Warn that ``old`` is deprecated in favour of ``new`` (the one wording of every forge deprecation).

    ``stacklevel`` is that of :func:`warnings.warn` called here: 2 blames this function's caller, 3
    the caller's caller (the user's line, when the caller is a ``__getattr__``).
    """
    warnings.warn(
        ForgeDeprecationWarning(f"{old} is deprecated and will be removed in forge-core {REMOVED_IN}; use {new}"),
        stacklevel=stacklevel,
    )


def moved_attribute(module: str, name: str) -> Any:
    """Resolve ``module.name`` through :data:`MOVED_ATTRIBUTES`, warning that it moved.

    Meant as the tail of a module's ``__getattr__``.

    Raises:
        AttributeError: ``name`` is not a deprecated alias of ``module`` either.
    """
    target = MOVED_ATTRIBUTES.get(module, {}).get(name)
    if target is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    new_module, _, new_name = target.partition(":")
    # 4: past warn_deprecated, this function and the module's __getattr__, to the line that named the alias.
    old_module = next((o for o, n in MOVED_MODULES.items() if n == module), module)
    warn_deprecated(f"{old_module}.{name}", f"{new_module}.{new_name}", 4)
    return getattr(importlib.import_module(new_module), new_name)


class _MovedModule(ModuleType):
    """Stands in ``sys.modules`` for a module path that moved: the first attribute read imports the new module."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name, f"Deprecated alias of {target}.")
        self._target = target

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # introspection (inspect, pytest, pdoc) must not import or warn
            raise AttributeError(name)
        face = ".".join(part for part in self._target.split(".") if not part.startswith("_"))
        warn_deprecated(f"module {self.__name__}", f"the names {face} exports", 3)
        return getattr(importlib.import_module(self._target), name)


def install_module_aliases() -> None:
    """Make every old module path of :data:`MOVED_MODULES` importable, lazily and with a warning. Idempotent.

    The aliases are placed in ``sys.modules`` rather than served by an import hook, so importing an
    old path never rebinds an attribute of its parent package (``forge.core.registry`` stays the
    registry instance).
    """
    for old, new in MOVED_MODULES.items():
        sys.modules.setdefault(old, _MovedModule(old, new))
