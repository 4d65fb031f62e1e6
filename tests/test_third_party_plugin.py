"""A real third-party plugin, installed from tests/plugins/forge-acme, is discovered, listed and built.

forge-acme is not part of any forge distribution: it is what an outside author would write following
docs/plugins.md. Every check runs in a fresh process, as a user would meet it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Runner = Callable[..., "subprocess.CompletedProcess[str]"]
pytestmark = pytest.mark.usefixtures("installed_plugins")


@pytest.fixture
def forge(sh: Runner, forge_exe: str) -> Callable[..., str]:
    def call(*args: str) -> str:
        result = sh(forge_exe, *args)
        assert result.returncode == 0, result.stderr
        return str(result.stdout)

    return call


def test_forge_plugins_shows_acme(forge: Callable[..., str]) -> None:
    plugins = {p["name"]: p for p in json.loads(forge("plugins", "--json"))}
    acme = plugins["acme"]
    assert (acme["distribution"], acme["version"], acme["status"], acme["api_version"]) == (
        "forge-acme",
        "1.2.0",
        "loaded",
        1,
    )
    assert acme["module"] == "forge_acme.plugin"
    assert acme["components"] == {"model": ["acme.gated_mlp"], "loss": ["acme.huber"]}
    assert acme["commands"] == ["acme-report"]  # added lazily through the commands hook
    table = forge("plugins")
    assert any(line.split()[:2] == ["acme", "forge-acme"] for line in table.splitlines())
    assert "acme: forge-acme 1.2.0" in forge("--version")


def test_forge_list_and_info_show_acme_components(forge: Callable[..., str]) -> None:
    models = {s["name"]: s for s in json.loads(forge("list", "models", "--json"))}
    assert models["acme.gated_mlp"]["summary"] == "MLP with a sigmoid gate on every hidden layer"
    assert models["acme.gated_mlp"]["provider"] == "acme"
    tagged = json.loads(forge("list", "models", "--tag", "tabular", "--tag", "classification", "--json"))
    assert [s["name"] for s in tagged if s["provider"] == "acme"] == ["acme.gated_mlp"]
    assert "acme.huber" in forge("list", "losses", "huber")
    info = json.loads(forge("info", "acme.gated_mlp", "--json"))
    fields = {f["name"]: f for f in info["fields"]}
    assert fields["hidden"]["default"] == [32, 32]  # the registered default, not the class default
    assert fields["hidden"]["type"] == "tuple[int, ...]"
    assert fields["dropout"]["help"] == "Dropout after each hidden layer."


def test_registry_builds_acme_components(sh: Runner) -> None:
    script = (
        "import torch\n"
        "from forge.core import registry\n"
        "model = registry.build('model', 'gated_mlp', in_features=5, num_classes=2, hidden=[7])\n"
        "out = model(torch.randn(3, 5))\n"
        "loss = registry.build('loss', 'acme.huber', delta=2.0)\n"
        "print(type(model).__name__, type(model[0]).__module__, tuple(out.shape), loss.delta)\n"
    )
    result = sh(sys.executable, "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Sequential", "forge_acme.models", "(3,", "2)", "2.0"]


def test_bad_override_names_the_acme_field(sh: Runner) -> None:
    script = "from forge.core import registry\nregistry.build('model', 'acme.gated_mlp', in_features='wide')\n"
    result = sh(sys.executable, "-c", script)
    assert result.returncode != 0
    assert "ConfigError: model acme.gated_mlp.in_features: expected int, got str 'wide'" in result.stderr


def test_acme_passes_its_own_conformance_tests(sh: Runner, installed_plugins: dict[str, Path]) -> None:
    acme = installed_plugins["acme"]
    result = sh(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", acme / "tests", cwd=acme)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout
