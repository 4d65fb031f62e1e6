"""Shared pieces of forge-core's tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
"""Plugin modules (``forge_fixture_*``) the plugin, registry and CLI tests load through entry points."""


def _drop_fixture_modules() -> None:
    for name in [m for m in sys.modules if m.startswith("forge_fixture")]:
        del sys.modules[name]


@pytest.fixture
def fixture_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Put the fixture plugins on sys.path, freshly imported, with no FORGE_* plugin settings."""
    monkeypatch.syspath_prepend(str(FIXTURES))
    for var in ("FORGE_DISABLE_PLUGINS", "FORGE_LOAD_PLUGINS", "FORGE_STRICT_PLUGINS", "FORGE_TRACE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    _drop_fixture_modules()
    yield FIXTURES
    _drop_fixture_modules()
