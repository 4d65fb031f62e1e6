"""Lazy re-exports (``forge.core._lazy``): a package's ``if TYPE_CHECKING:`` imports are its exports."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from forge.core import _deprecated

REPO = Path(__file__).resolve().parents[3]
LAZY_CORE_PACKAGES = [f"forge.core.{name}" for name in ("data", "losses", "metrics", "optim", "trainer")]

INIT = '''
"""A package with lazy exports."""
from typing import TYPE_CHECKING

from forge.core._lazy import lazy_exports

if TYPE_CHECKING:
    from lazypkg.heavy import Heavy as Heavy
    from lazypkg.heavy import original as renamed  # not a re-export: not exported
    from lazypkg.light import helper as helper

__getattr__, __dir__ = lazy_exports(__name__, __file__)
'''


@pytest.fixture
def lazypkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    pkg = tmp_path / "lazypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(INIT, encoding="utf-8")
    (pkg / "heavy.py").write_text("class Heavy: ...\n\ndef original() -> int:\n    return 1\n", encoding="utf-8")
    (pkg / "light.py").write_text("def helper() -> int:\n    return 2\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("lazypkg")
    for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
        del sys.modules[name]


def test_a_name_is_imported_on_first_access_and_then_cached(lazypkg: ModuleType) -> None:
    assert "lazypkg.heavy" not in sys.modules
    heavy = lazypkg.Heavy
    assert heavy is sys.modules["lazypkg.heavy"].Heavy
    assert vars(lazypkg)["Heavy"] is heavy  # later lookups skip __getattr__
    assert "lazypkg.light" not in sys.modules
    assert lazypkg.helper() == 2


def test_all_and_dir_list_the_type_checking_names(lazypkg: ModuleType) -> None:
    assert lazypkg.__all__ == ["Heavy", "helper"]
    assert {"Heavy", "helper", "__doc__"} <= set(dir(lazypkg)) and "renamed" not in dir(lazypkg)
    namespace: dict[str, Any] = {}
    exec("from lazypkg import *", namespace)
    assert {"Heavy", "helper"} <= namespace.keys() and "lazy_exports" not in namespace


def test_the_block_is_parsed_on_first_need_and_only_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lazypkg: ModuleType
) -> None:
    parsed: list[str] = []
    real_parse = ast.parse

    def counting_parse(source: str, filename: str) -> ast.Module:
        parsed.append(filename)
        return real_parse(source, filename)

    monkeypatch.setattr(ast, "parse", counting_parse)
    del sys.modules["lazypkg"]
    fresh = importlib.import_module("lazypkg")
    assert parsed == []
    assert fresh.__all__ and fresh.Heavy and dir(fresh) and fresh.helper
    assert parsed == [str(tmp_path / "lazypkg" / "__init__.py")]


def test_an_unknown_name_raises_attribute_error(lazypkg: ModuleType) -> None:
    with pytest.raises(AttributeError, match="module 'lazypkg' has no attribute 'nope'"):
        lazypkg.nope  # noqa: B018
    assert not hasattr(lazypkg, "renamed")  # as for type checkers, ``X as Y`` is no re-export


def test_a_deprecated_alias_resolves_with_a_warning(lazypkg: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_deprecated.MOVED_ATTRIBUTES, "lazypkg", {"Old": "lazypkg.heavy:Heavy"})
    with pytest.warns(
        _deprecated.ForgeDeprecationWarning, match=r"lazypkg\.Old is deprecated.*lazypkg\.heavy\.Heavy"
    ) as record:
        assert lazypkg.Old is sys.modules["lazypkg.heavy"].Heavy
    assert record[0].filename == __file__  # blamed on the caller, so the default filters show it in __main__


@pytest.mark.parametrize("package", LAZY_CORE_PACKAGES)
def test_every_export_of_core_packages_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_importing_core_packages_imports_no_torch() -> None:
    probe = f"import sys\nimport {', '.join(LAZY_CORE_PACKAGES)}\nprint(sorted(m for m in sys.modules if m == 'torch'))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_type_checkers_see_the_real_types(lazypkg: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = pytest.importorskip("mypy.api")
    snippet = textwrap.dedent(
        """
        import lazypkg
        from lazypkg import Heavy
        reveal_type(Heavy)
        reveal_type(lazypkg.helper)
        """
    )
    monkeypatch.chdir(REPO)  # mypy.ini's mypy_path is relative to the working directory
    monkeypatch.setenv("MYPYPATH", str(tmp_path))
    args = ["--config-file", "mypy.ini", "--cache-dir", str(tmp_path / "mypy"), "-c", snippet]
    stdout, stderr, status = api.run(args)
    revealed = [line.partition("Revealed type is ")[2] for line in stdout.splitlines() if "Revealed type" in line]
    assert status == 0 and len(revealed) == 2, stdout + stderr
    assert revealed[0].endswith('-> lazypkg.heavy.Heavy"') and revealed[1].endswith('-> int"'), revealed
