"""Every component forge-core registers passes its own conformance kit, like any plugin's."""

from __future__ import annotations

import os
import sys
from importlib import metadata
from pathlib import Path

import pytest

from forge.core._plugins import PluginSettings
from forge.core._registry import ComponentSpec, Registry
from forge.core.testing import ConformanceError, check_component, check_light_listing, check_model, components_of


@pytest.mark.parametrize("spec", components_of("core"), ids=lambda s: f"{s.kind}:{s.name}")
def test_component_conforms(spec: ComponentSpec) -> None:
    check_component(spec)


def test_an_example_input_that_does_not_fit_names_the_component(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "forge_fixture_misfit.py").write_text(
        "import torch\n"
        "from forge.core.hookspecs import hookimpl\n"
        "FORGE_PLUGIN_API = 1\n"
        "def build(width):\n    return torch.nn.Linear(width, 2)\n"
        "def example(config):\n    return torch.randn(3, 5)\n"
        "@hookimpl\ndef forge_register_models(register):\n"
        "    register('lin', builder='forge_fixture_misfit:build', defaults={'width': 4},"
        " example='forge_fixture_misfit:example')\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = metadata.EntryPoint(name="mis", value="forge_fixture_misfit", group="forge.plugins")
    reg = Registry(PluginSettings(), entry_points=[ep])
    with pytest.raises(ConformanceError) as caught:
        check_model(reg.get("model", "mis.lin"), reg=reg)
    message = str(caught.value)
    assert message.startswith(
        "model mis.lin: its example input (Tensor[3, 5] float32, from forge_fixture_misfit:example)"
    )
    assert "does not fit the model" in message and "RuntimeError" in message
    sys.modules.pop("forge_fixture_misfit", None)


@pytest.fixture
def installed_fixtures(tmp_path: Path) -> dict[str, str]:
    """An environment in which fixture plugins look installed (a *.dist-info on PYTHONPATH)."""
    fixtures = Path(__file__).parent / "fixtures"
    dist = tmp_path / "forge_fixture_dist-0.3.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: forge-fixture-dist\nVersion: 0.3.0\n")
    (dist / "entry_points.txt").write_text(
        "[forge.plugins]\nlite = forge_fixture_good\neager = forge_fixture_eager\ncmds = forge_fixture_commands\n"
    )
    (tmp_path / "forge_fixture_eager.py").write_text(
        "import forge_fixture_torchy_impl  # the mistake: model code imported by the entry-point module\n"
        "from forge.core.hookspecs import hookimpl\nFORGE_PLUGIN_API = 1\n"
        "@hookimpl\ndef forge_register_models(register):\n"
        "    register('linear', builder='forge_fixture_torchy_impl:build_linear',"
        " config='forge_fixture_configs:TinyConfig')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(fixtures), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["FORGE_LOAD_PLUGINS"] = "lite,eager,cmds"
    return env


def test_light_listing_check_passes_a_light_plugin_and_names_what_a_heavy_one_imports(
    installed_fixtures: dict[str, str],
) -> None:
    check_light_listing("lite", env=installed_fixtures)  # its config module is imported, its builders are not
    with pytest.raises(ConformanceError) as caught:
        check_light_listing("eager", env=installed_fixtures)
    assert "imports torch" in str(caught.value)
    assert "imports its builder/example modules forge_fixture_torchy_impl" in str(caught.value)
    check_light_listing("cmds", env=installed_fixtures)
    with pytest.raises(ConformanceError, match=r"plugin 'cmds': listing and describing its components imports click"):
        check_light_listing("cmds", forbidden=("torch", "click"), env=installed_fixtures)
    with pytest.raises(ConformanceError, match="'absent' is not installed"):
        check_light_listing("absent", env=installed_fixtures)
