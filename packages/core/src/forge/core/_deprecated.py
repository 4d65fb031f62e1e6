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
import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__ = [
    "MOVED_ATTRIBUTES",
    "MOVED_MODULES",
    "REMOVED_IN",
    "ForgeDeprecationWarning",
    "install_module_aliases",
    "moved_attribute",
]

REMOVED_IN = "0.3.0"
"""The release in which every alias below is removed."""


class ForgeDeprecationWarning(DeprecationWarning):
    """A forge name that still works but has moved; the message says where to and until when."""


MOVED_ATTRIBUTES: dict[str, dict[str, str]] = {
    "forge.core.trainer.trainer": {"build_trainer": "forge.core.trainer.trainer:Trainer"},
    "forge.core.recipe": {
        "RunResult": "forge.core._runner:RunResult",
        "build_loaders": "forge.core._runner:build_loaders",
        "resume_run": "forge.core._runner:resume_run",
        "run_recipe": "forge.core._runner:run_recipe",
        "evaluate_run": "forge.core.evaluator:evaluate_run",
        "wilson_interval": "forge.core.evaluator:wilson_interval",
    },
    "forge.core.run": {"load_model": "forge.core._runner:load_model"},
    "forge.core.data.fingerprint": {
        "canonical_json": "forge.core._digest:canonical_json",
        "fingerprint_config": "forge.core.data:digest",
    },
}
"""Old module -> {old attribute name: ``"new.module:new_name"``}."""

MOVED_MODULES: dict[str, str] = {}
"""Old module path -> the module that replaces it."""


def _warn(old: str, new: str, stacklevel: int) -> None:
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
    # 4: past _warn, this function and the module's __getattr__, to the line that named the alias.
    _warn(f"{module}.{name}", f"{new_module}.{new_name}" if new_module != "forge.core" else f"forge.core.{new_name}", 4)
    return getattr(importlib.import_module(new_module), new_name)


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self._target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        _warn(f"module {spec.name}", f"module {self._target}", 8)
        return importlib.import_module(self._target)

    def exec_module(self, module: ModuleType) -> None:
        """The module is the already imported target; nothing to execute."""


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = MOVED_MODULES.get(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new))


_FINDER = _AliasFinder()


def install_module_aliases() -> None:
    """Let ``import forge.core.<old path>`` find its new module (with a warning). Idempotent."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
