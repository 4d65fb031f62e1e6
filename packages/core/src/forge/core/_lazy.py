"""Lazy re-exports for a package face: its ``if TYPE_CHECKING:`` imports are the one list of names.

A package ``__init__`` names what it exports once, as explicit re-exports (the ``Name as Name``
form that type checkers read as a re-export) under ``if TYPE_CHECKING:``, and ends with one line::

    from typing import TYPE_CHECKING

    from forge.core._lazy import lazy_exports

    if TYPE_CHECKING:
        from forge.core.trainer._trainer import Trainer as Trainer

    __getattr__, __dir__ = lazy_exports(__name__, __file__)

Type checkers see the imports; at run time none of them runs when the package is imported. The
first access to a name imports its module and stores the value in the package, ``__all__`` (read
by ``from package import *`` and pdoc) is the names in the order of the block, and ``dir()``
lists them too. The block is read with :mod:`ast` on the first lookup that needs it, not at
import, so a package that is only passed through (as ``forge plugins`` does) costs no parse.
``__all__`` is served rather than assigned: mypy takes a computed ``__all__`` to export nothing
to ``from package import *``, while without one it exports exactly the ``Name as Name`` imports.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from forge.core._deprecated import moved_attribute

__all__ = ["lazy_exports"]


def _type_checking_imports(package: str, file: str) -> dict[str, str]:
    """Name -> module of each ``from module import Name as Name`` under the file's ``if TYPE_CHECKING:``.

    Only the ``Name as Name`` form counts, as only it is a re-export to type checkers; other imports
    in the block serve annotations of the ``__init__`` itself.
    """
    tree = ast.parse(Path(file).read_text(encoding="utf-8"), file)
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    source = importlib.util.resolve_name("." * stmt.level + (stmt.module or ""), package)
                    names.update({a.name: source for a in stmt.names if a.asname == a.name})
    return names


def lazy_exports(package: str, file: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of a package whose exports are its ``TYPE_CHECKING`` imports.

    Args:
        package: The package's ``__name__``.
        file: The package's ``__file__`` (its ``__init__.py``), whose ``if TYPE_CHECKING:`` block
            lists the exports.

    Returns:
        ``(__getattr__, __dir__)``. ``__getattr__(name)`` imports ``name`` from its module on first
        access and caches it in the package, serves ``__all__``, and hands any other name to
        :func:`forge.core._deprecated.moved_attribute`, which returns a deprecated alias with a
        warning or raises :class:`AttributeError`.

    Example:
        >>> __getattr__, __dir__ = lazy_exports(__name__, __file__)  # doctest: +SKIP
    """
    exports = cache(lambda: _type_checking_imports(package, file))

    def __getattr__(name: str) -> Any:
        if name == "__all__":
            value: Any = list(exports())
        elif name in exports():
            value = getattr(importlib.import_module(exports()[name]), name)
        else:
            return moved_attribute(package, name)
        setattr(sys.modules[package], name, value)  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports()})

    return __getattr__, __dir__
