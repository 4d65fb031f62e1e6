"""``forge new-plugin`` writes a package that installs, registers its component and passes its own tests.

The ``installed_plugins`` fixture (conftest.py) runs ``forge new-plugin demo --dir TMP`` and installs
the result with pip, once a session.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def test_scaffold_is_a_complete_package(installed_plugins: dict[str, Path]) -> None:
    demo = installed_plugins["demo"]
    for rel in (
        "pyproject.toml",
        "README.md",
        "src/forge_demo/plugin.py",
        "src/forge_demo/configs.py",
        "src/forge_demo/models.py",
        "src/forge_demo/py.typed",
        "tests/test_plugin.py",
    ):
        assert (demo / rel).is_file(), rel


def test_generated_plugin_is_discovered(installed_plugins: dict[str, Path], sh: Runner, forge_exe: str) -> None:
    result = sh(forge_exe, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    demo = {p["name"]: p for p in json.loads(result.stdout)}["demo"]
    assert (demo["distribution"], demo["status"]) == ("forge-demo", "loaded")
    assert demo["components"] == {"model": ["demo.tiny_cnn"]}
    info = sh(forge_exe, "info", "demo.tiny_cnn")
    assert info.returncode == 0 and "num_classes" in info.stdout and "Number of output classes." in info.stdout


def test_generated_plugin_passes_its_own_tests(installed_plugins: dict[str, Path], sh: Runner) -> None:
    demo = installed_plugins["demo"]
    result = sh(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", demo / "tests", cwd=demo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
