"""Listing is light: ``forge plugins`` and ``forge list`` import neither torch nor any builder module.

Runs the CLI in a fresh interpreter (this test process has likely imported torch already) with
every installed plugin plus a fixture plugin whose builder module imports torch, then inspects
``sys.modules``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

PROBE = r"""
import json, sys
from forge.core.cli import main

for args in (["plugins"], ["list", "models"], ["list", "losses", "--json"], ["info", "torchy.linear"]):
    sys.argv = ["forge", *args]
    try:
        main()
    except SystemExit as exc:
        if exc.code:
            raise
from forge.core._registry import registry

specs = registry.list()
print("PROBE " + json.dumps({
    "torch": sorted(m for m in sys.modules if m == "torch" or m.startswith("torch.")),
    "plugins": {p.name: [p.status, p.error] for p in registry.plugins},
    "builders": sorted({s.builder.partition(":")[0] for s in specs if s.kind != "recipe"} & set(sys.modules)),
    "components": len(specs),
}))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    site = tmp_path_factory.mktemp("site")
    dist = site / "forge_fixture_torchy-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: forge-fixture-torchy\nVersion: 0.1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text("[forge.plugins]\ntorchy = forge_fixture_torchy\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(FIXTURES), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("PROBE "))
    result: dict[str, Any] = json.loads(line[len("PROBE ") :])
    return result


def test_every_installed_plugin_loaded(probe: dict[str, Any]) -> None:
    # a plugin that failed to load would make the checks below vacuous for it
    failed = {name: err for name, (status, err) in probe["plugins"].items() if status != "loaded"}
    assert failed == {}
    assert "core" in probe["plugins"] and "torchy" in probe["plugins"]
    assert probe["components"] > 1


def test_listing_does_not_import_torch(probe: dict[str, Any]) -> None:
    assert probe["torch"] == []


def test_listing_does_not_import_builder_modules(probe: dict[str, Any]) -> None:
    assert probe["builders"] == []
