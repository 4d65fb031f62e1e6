"""The ``forge`` command line: in-process through click's CliRunner, and as the installed command."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from forge.core import __version__
from forge.core._registry import Registry
from forge.core.cli import cli
from forge.core.errors import ConfigError, PluginError, RegistryError

FIXTURES = Path(__file__).parent / "fixtures"
# `forge.core._registry` the attribute is the global Registry (`from forge.core import registry`);
# the module it lives in is only reachable through the import system.
registry_module = importlib.import_module("forge.core._registry")


pytestmark = pytest.mark.usefixtures("fixture_plugins")


def ep(name: str, module: str) -> metadata.EntryPoint:
    return metadata.EntryPoint(name=name, value=module, group="forge.plugins")


@pytest.fixture
def use_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Install a fresh registry over the given fixture plugins as the CLI's global registry."""

    def install(*eps: metadata.EntryPoint) -> Registry:
        reg = Registry(entry_points=eps)
        monkeypatch.setattr(registry_module, "registry", reg)
        monkeypatch.setattr(cli, "_plugin_commands", None)  # the group caches plugin commands
        return reg

    yield install


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


DEFAULT = (
    ep("good", "forge_fixture_good"),
    ep("other", "forge_fixture_other"),
    ep("broken", "forge_fixture_broken_import"),
)


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == f"forge-core {__version__}"


def test_plugins_table(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*DEFAULT)
    result = run("plugins")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "plugin", "distribution", "version", "api", "status", "load", "ms", "registers", "commands"
    ]  # fmt: skip
    good = next(line for line in lines if line.startswith("good "))
    assert good.split()[4] == "loaded" and good.split()[5].isdigit()
    assert good.split()[6:] == ["1", "loss,", "2", "models", "-"]
    assert any(line.startswith("broken ") and "failed" in line for line in lines)
    assert "broken: failed: import failed: ModuleNotFoundError" in result.stdout


def test_plugins_json(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*DEFAULT)
    result = run("plugins", "--json")
    data = {p["name"]: p for p in json.loads(result.stdout)}
    assert data["good"]["status"] == "loaded" and data["good"]["api_version"] == 1
    assert data["good"]["components"] == {"model": ["good.tiny", "good.plain"], "loss": ["good.l1"]}
    assert (
        data["broken"]["status"] == "failed" and "forge_fixture_this_module_does_not_exist" in data["broken"]["error"]
    )


def test_disable_plugins_option_blocks_before_import(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*DEFAULT)
    result = run("--disable-plugins", "good,broken", "--disable-plugins", "other", "plugins", "--json")
    assert {p["name"]: p["status"] for p in json.loads(result.stdout)} == {
        "good": "disabled",
        "other": "disabled",
        "broken": "disabled",
    }
    assert not [m for m in sys.modules if m.startswith("forge_fixture")]


def test_disable_plugins_environment_variable(use_plugins, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*DEFAULT)
    monkeypatch.setenv("FORGE_DISABLE_PLUGINS", "other")
    result = run("--disable-plugins", "broken", "list", "models", "--json")
    assert [s["name"] for s in json.loads(result.stdout)] == ["good.plain", "good.tiny"]
    assert "forge_fixture_other" not in sys.modules and "forge_fixture_broken_import" not in sys.modules


def test_strict_plugins_makes_the_command_fail(use_plugins, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*DEFAULT)
    monkeypatch.setenv("FORGE_STRICT_PLUGINS", "1")
    result = run("plugins")
    assert isinstance(result.exception, PluginError)
    assert "plugin 'broken'" in str(result.exception)


def test_list(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*DEFAULT)
    result = run("list", "models")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "summary", "tags"]
    assert [line.split()[0] for line in lines[2:]] == ["good.plain", "good.tiny", "other.tiny", "other.wide"]
    assert "cnn,image-classification" in next(line for line in lines if line.startswith("good.tiny"))


def test_list_pattern_tag_and_json(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*DEFAULT)
    names = lambda *a: [s["name"] for s in json.loads(run("list", *a, "--json").stdout)]  # noqa: E731
    assert names("model", "tiny") == ["good.tiny", "other.tiny"]
    assert names("models", "--tag", "cnn") == ["good.tiny", "other.wide"]
    assert names("models", "--tag", "cnn", "--tag", "image-classification") == ["good.tiny"]
    assert names("losses") == ["good.l1"]
    spec = json.loads(run("list", "model", "other.wide", "--json").stdout)[0]
    assert spec == {
        "kind": "model",
        "name": "other.wide",
        "provider": "other",
        "builder": "forge_fixture_impl:build_wide",
        "config": "forge_fixture_configs:TinyConfig",
        "defaults": {"num_classes": 5, "width": 64},
        "tags": ["cnn"],
        "summary": "A wide model",
        "example": None,
    }


def test_list_nothing_and_unknown_kind(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*DEFAULT)
    result = run("list", "metrics")
    assert result.exit_code == 0 and result.stdout == "" and "no metrics match" in result.stderr
    result = run("list", "widgets")
    assert isinstance(result.exception, RegistryError) and "known kinds" in str(result.exception)


def test_list_does_not_import_builders(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*DEFAULT)
    assert run("list", "models").exit_code == 0
    assert "forge_fixture_good" in sys.modules and "forge_fixture_impl" not in sys.modules


def test_info(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*DEFAULT)
    result = run("info", "wide")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("model other.wide: A wide model\n")
    assert "provider: other" in out and "tags: cnn" in out and "config: forge_fixture_configs:TinyConfig" in out
    rows = {line.split()[0]: line.split(None, 3) for line in out.splitlines()[6:]}
    assert rows["num_classes"][1:3] == ["int", "5"]  # the registered default replaces "required"
    assert rows["width"][1:] == ["int", "64", "Width of the hidden layer."]
    assert rows["head"][1] == "HeadConfig"
    assert "forge_fixture_impl" not in sys.modules


def test_info_json_and_required_fields(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*DEFAULT)
    data = json.loads(run("info", "good.tiny", "--json").stdout)
    fields = {f["name"]: f for f in data["fields"]}
    assert fields["num_classes"] == {
        "name": "num_classes",
        "type": "int",
        "default": 10,
        "required": False,
        "help": "Number of output classes.",
    }
    assert fields["head"]["default"] == {"dropout": 0.0, "bias": True}
    assert json.loads(run("info", "good.plain", "--json").stdout)["fields"] == []


def test_info_errors(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*DEFAULT)
    result = run("info", "tiny")
    assert isinstance(result.exception, RegistryError) and "good.tiny (from good)" in str(result.exception)
    result = run("info", "nothing_like_it")
    assert isinstance(result.exception, RegistryError) and "no component named 'nothing_like_it'" in str(
        result.exception
    )


def test_plugin_commands_are_added(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(ep("cmds", "forge_fixture_commands"), *DEFAULT)
    result = run("hello", "bob")
    assert result.exit_code == 0 and result.stdout == "hello bob\n"
    assert "hello" in run("--help").stdout


def test_clashing_plugin_commands_are_reported_and_not_added(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(ep("cmds", "forge_fixture_commands"), ep("clash", "forge_fixture_clash"), *DEFAULT)
    result = run("plugins")
    assert result.exit_code == 0, result.output
    assert "clash: warning: command 'hello' is added by plugins clash (module forge_fixture_clash) and cmds" in (
        result.stdout
    )
    assert "cmds: warning: command 'hello' is added by plugins clash" in result.stdout
    assert "clash: warning: command 'list' would shadow forge's built-in command" in result.stdout
    data = {p["name"]: p for p in json.loads(run("plugins", "--json").stdout)}
    assert data["clash"]["commands"] == [] and len(data["clash"]["warnings"]) == 2
    assert "hijacked" not in run("hello").output
    assert run("list", "models").stdout.startswith("name")


def test_clashing_plugin_commands_fail_in_strict_mode(use_plugins, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    use_plugins(ep("cmds", "forge_fixture_commands"), ep("clash", "forge_fixture_clash"))
    monkeypatch.setenv("FORGE_STRICT_PLUGINS", "1")
    result = run("plugins")
    assert isinstance(result.exception, PluginError)
    assert "command 'hello' is added by plugins clash (module forge_fixture_clash) and cmds" in str(result.exception)
    assert "command 'list' would shadow" in str(result.exception)


def test_doctor_lists_command_clashes(use_plugins, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from forge.core import _doctor

    use_plugins(ep("cmds", "forge_fixture_commands"), ep("clash", "forge_fixture_clash"))
    monkeypatch.setattr(_doctor, "collect", lambda probe: {"plugins": _doctor._plugin_compat()})
    result = run("doctor")
    assert result.exit_code == 0, result.output
    assert "    warning: command 'hello' is added by plugins clash" in result.stdout
    assert "    loads in " in result.stdout and "; commands: -" in result.stdout  # each plugin's load time


def test_doctor_shows_load_time_and_commands(use_plugins, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from forge.core import _doctor

    use_plugins(ep("cmds", "forge_fixture_commands"), ep("good", "forge_fixture_good"))
    monkeypatch.setattr(_doctor, "collect", lambda probe: {"plugins": _doctor._plugin_compat()})
    result = run("doctor")
    lines = result.stdout.splitlines()
    cmds = lines[lines.index(next(line for line in lines if line.startswith("  cmds:"))) + 1]
    assert cmds.startswith("    loads in ") and cmds.endswith("ms; commands: hello")
    data = json.loads(run("doctor", "--json").stdout)
    row = next(p for p in data["plugins"] if p["plugin"] == "cmds")
    assert row["commands"] == ["hello"] and row["load ms"] >= 0


def test_output_printed_by_a_plugin_keeps_json_parseable(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(ep("noisy", "forge_fixture_noisy"), *DEFAULT)
    data = {p["name"]: p for p in json.loads(run("plugins", "--json").stdout)}
    assert data["noisy"]["status"] == "loaded"
    assert data["noisy"]["warnings"] == [
        "printed to stdout during import: 'noisy: hello from import'",
        "printed to stderr during import: 'noisy: debug chatter'",
        "printed to stdout during forge_register_models: 'noisy: registering models'",
    ]
    sys.modules.pop("forge_fixture_noisy")  # so that it is imported, and prints, again
    use_plugins(ep("noisy", "forge_fixture_noisy"), *DEFAULT)
    assert "noisy.tiny" in {s["name"] for s in json.loads(run("list", "models", "--json").stdout)}
    sys.modules.pop("forge_fixture_noisy")
    use_plugins(ep("noisy", "forge_fixture_noisy"))
    assert "noisy: warning: printed to stdout during import" in run("plugins").stdout


def test_config_show_with_overrides(tmp_path: Path) -> None:
    src = tmp_path / "exp.toml"
    src.write_text('name = "baseline"\n[optim]\nlr = 0.1\nbetas = [0.9, 0.99]\n', encoding="utf-8")
    result = run("config", "show", str(src), "optim.lr=3e-4", "optim.warmup=100", "name=run-2", "extra.on=true")
    assert result.exit_code == 0, result.output
    import tomllib

    assert tomllib.loads(result.stdout) == {
        "name": "run-2",
        "optim": {"lr": 3e-4, "betas": [0.9, 0.99], "warmup": 100},
        "extra": {"on": True},
    }
    result = run("config", "show", str(src), "--format", "json")
    assert json.loads(result.stdout) == {"name": "baseline", "optim": {"lr": 0.1, "betas": [0.9, 0.99]}}
    out = tmp_path / "resolved.yaml"
    result = run("config", "show", str(src), "optim.lr=0.5", "-o", str(out))
    assert result.exit_code == 0 and f"wrote {out}" in result.stderr
    import yaml

    assert yaml.safe_load(out.read_text(encoding="utf-8"))["optim"]["lr"] == 0.5
    # what was written reads back to the same output
    again = run("config", "show", str(out), "--format", "toml")
    assert tomllib.loads(again.stdout)["optim"] == {"lr": 0.5, "betas": [0.9, 0.99]}


def test_config_show_errors(tmp_path: Path) -> None:
    result = run("config", "show", str(tmp_path / "absent.toml"))
    assert isinstance(result.exception, ConfigError) and "absent.toml: no such config file" in str(result.exception)
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n", encoding="utf-8")
    result = run("config", "show", str(bad))
    assert isinstance(result.exception, ConfigError) and "bad.yaml:2:1: invalid YAML" in str(result.exception)
    good = tmp_path / "ok.json"
    good.write_text('{"a": 1}', encoding="utf-8")
    result = run("config", "show", str(good), "a.b=2")
    assert isinstance(result.exception, ConfigError) and "a is a int, not a table" in str(result.exception)
    result = run("config", "show", str(good), "oops")
    assert isinstance(result.exception, ConfigError) and "expected KEY.PATH=VALUE" in str(result.exception)


def test_new_plugin_writes_a_package(tmp_path: Path) -> None:
    result = run("new-plugin", "demo_x", "--dir", str(tmp_path))
    root = tmp_path / "forge-demo-x"
    assert result.exit_code == 0 and f"wrote {root}" in result.stdout
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    major, minor = (int(part) for part in __version__.split(".")[:2])
    assert 'demo_x = "forge_demo_x.plugin"' in pyproject
    assert f'"forge-core>={major}.{minor},<{major}.{minor + 1}"' in pyproject  # the installed core's series
    for rel in (
        "src/forge_demo_x/plugin.py",
        "src/forge_demo_x/configs.py",
        "src/forge_demo_x/models.py",
        "tests/test_plugin.py",
        "README.md",
    ):
        assert (root / rel).is_file()
    plugin_src = (root / "src/forge_demo_x/plugin.py").read_text(encoding="utf-8")
    assert "import torch" not in plugin_src and "FORGE_PLUGIN_API = 1" in plugin_src
    assert run("new-plugin", "demo_x", "--dir", str(tmp_path)).exit_code == 2  # refuses to overwrite
    assert run("new-plugin", "Bad-Name", "--dir", str(tmp_path)).exit_code == 2


def test_new_plugin_passes_the_light_listing_check_its_tests_run(tmp_path: Path) -> None:
    from forge.core.testing import check_light_listing

    assert run("new-plugin", "demo_y", "--dir", str(tmp_path)).exit_code == 0
    root = tmp_path / "forge-demo-y"
    assert 'check_light_listing("demo_y", forbidden=("torch", "click"))' in (root / "tests/test_plugin.py").read_text()
    dist = tmp_path / "forge_demo_y-0.1.0.dist-info"  # installed, as far as entry points go
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: forge-demo-y\nVersion: 0.1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[forge.plugins]\ndemo_y = forge_demo_y.plugin\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(root / "src"), env.get("PYTHONPATH", "")])
    check_light_listing("demo_y", forbidden=("torch", "click"), env=env)


def test_new_plugin_failing_midway_leaves_no_half_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from forge.core.cli import _scaffold

    monkeypatch.setattr(_scaffold, "_FILES", {"README.md": "# {name}", "pyproject.toml": "{no_such_field}"})
    with pytest.raises(KeyError, match="no_such_field"):
        _scaffold.write_plugin("demo_y", tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- the installed command, in a fresh process ---------------------------------------------
def _forge() -> str:
    exe = Path(sys.executable).parent / "forge"
    found = str(exe) if exe.exists() else shutil.which("forge")
    if found is None:
        pytest.skip("the forge console script is not installed")
    return found


@pytest.fixture
def fake_install(tmp_path: Path) -> dict[str, str]:
    """An environment in which fixture plugins look installed (a *.dist-info on PYTHONPATH)."""
    dist = tmp_path / "forge_fixture_dist-0.3.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: forge-fixture-dist\nVersion: 0.3.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        "[forge.plugins]\nlite = forge_fixture_good\nbroken = forge_fixture_broken_import\n"
        "cmds = forge_fixture_commands\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(FIXTURES), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def forge(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_forge(), *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_installed_command(fake_install: dict[str, str]) -> None:
    version = forge(fake_install, "--version")
    assert version.returncode == 0 and "lite: forge-fixture-dist 0.3.0" in version.stdout
    plugins = forge(fake_install, "plugins", "--json")
    assert plugins.returncode == 0, plugins.stderr
    data = {p["name"]: p for p in json.loads(plugins.stdout)}
    assert data["lite"]["status"] == "loaded" and data["lite"]["distribution"] == "forge-fixture-dist"
    assert data["lite"]["version"] == "0.3.0"
    assert data["broken"]["status"] == "failed"
    assert '"plugin_failed"' not in plugins.stdout  # warnings go to stderr, stdout stays JSON
    models = forge(fake_install, "list", "models", "--json")
    assert {"lite.tiny", "lite.plain"} <= {s["name"] for s in json.loads(models.stdout)}
    hello = forge(fake_install, "hello")
    assert hello.returncode == 0 and hello.stdout == "hello world\n"


def test_installed_command_strict_and_disabled(fake_install: dict[str, str]) -> None:
    strict = forge({**fake_install, "FORGE_STRICT_PLUGINS": "1"}, "plugins")
    assert strict.returncode == 2
    assert "error: plugin 'broken'" in strict.stderr and "import failed" in strict.stderr
    allowed = forge({**fake_install, "FORGE_LOAD_PLUGINS": "lite"}, "plugins", "--json")
    statuses = {p["name"]: p["status"] for p in json.loads(allowed.stdout)}
    assert statuses["lite"] == "loaded" and statuses["broken"] == "disabled" and statuses["cmds"] == "disabled"
    disabled = forge(fake_install, "--disable-plugins", "broken,lite", "--log-format", "json", "plugins", "--json")
    statuses = {p["name"]: p["status"] for p in json.loads(disabled.stdout)}
    assert statuses["lite"] == "disabled" and statuses["broken"] == "disabled"


def test_installed_command_reports_forge_errors(fake_install: dict[str, str], tmp_path: Path) -> None:
    result = forge(fake_install, "config", "show", str(tmp_path / "nope.toml"))
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "nope.toml" in result.stderr
    result = forge(fake_install, "info", "lite.nothing")
    assert result.returncode == 2 and "error: no component named 'lite.nothing'" in result.stderr


def test_installed_impostor_is_refused_and_printing_plugin_keeps_json(tmp_path: Path) -> None:
    dist = tmp_path / "forge_evil-6.6.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: forge-evil\nVersion: 6.6\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[forge.plugins]\ncore = forge_fixture_good\nvision = forge_fixture_other\nnoisy = forge_fixture_noisy\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(FIXTURES), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    plugins = forge(env, "plugins", "--json")
    assert plugins.returncode == 0, plugins.stderr
    records = {(p["name"], p["distribution"]): p for p in json.loads(plugins.stdout)}
    assert records[("core", "forge-core")]["status"] == "loaded"
    assert records[("core", "forge-evil")]["status"] == "failed"
    assert "belongs to forge's own distribution forge-core" in records[("core", "forge-evil")]["error"]
    if ("vision", "forge-vision") in records:
        assert records[("vision", "forge-vision")]["status"] == "loaded"
    assert records[("vision", "forge-evil")]["status"] == "failed"
    assert records[("noisy", "forge-evil")]["warnings"][0].startswith("printed to stdout during import")
    models = forge(env, "list", "models", "--json")
    assert "noisy.tiny" in {s["name"] for s in json.loads(models.stdout)}
    strict = forge({**env, "FORGE_STRICT_PLUGINS": "1", "FORGE_DISABLE_PLUGINS": "noisy"}, "plugins")
    assert strict.returncode == 2 and "error: plugin 'core' (forge-evil 6.6)" in strict.stderr
    disabled = forge({**env, "FORGE_DISABLE_PLUGINS": "forge-evil", "FORGE_STRICT_PLUGINS": "1"}, "plugins", "--json")
    assert disabled.returncode == 0, disabled.stderr
    assert {p["status"] for p in json.loads(disabled.stdout) if p["distribution"] == "forge-evil"} == {"disabled"}


def test_plugins_shows_load_time_and_warns_past_the_threshold(use_plugins, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    use_plugins(ep("slow", "forge_fixture_slow"), ep("good", "forge_fixture_good"))
    monkeypatch.setenv("FORGE_PLUGIN_SLOW_MS", "100")
    result = run("plugins")
    assert result.exit_code == 0, result.output
    slow = next(line for line in result.stdout.splitlines() if line.startswith("slow "))
    assert int(slow.split()[5]) >= 150  # the module sleeps 150 ms on import
    assert "slow: warning: slow to load: import " in result.stdout
    assert "over FORGE_PLUGIN_SLOW_MS=100" in result.stdout and "good: warning" not in result.stdout
    data = {p["name"]: p for p in json.loads(run("plugins", "--json").stdout)}
    assert data["slow"]["import_ms"] >= 150 and data["slow"]["load_ms"] >= data["slow"]["import_ms"]
    assert data["good"]["register_ms"] is not None and not data["good"]["warnings"]


def test_plugin_load_time_threshold_is_configurable(use_plugins, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    use_plugins(ep("slow", "forge_fixture_slow"))
    monkeypatch.setenv("FORGE_PLUGIN_SLOW_MS", "5000")
    assert "slow to load" not in run("plugins").stdout
    sys.modules.pop("forge_fixture_slow")
    use_plugins(ep("slow", "forge_fixture_slow"))
    monkeypatch.setenv("FORGE_PLUGIN_SLOW_MS", "soon")
    result = run("plugins")
    assert isinstance(result.exception, PluginError) and "FORGE_PLUGIN_SLOW_MS" in str(result.exception)


def test_plugins_and_list_commands_show_which_plugin_adds_each_command(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(ep("cmds", "forge_fixture_commands"), *DEFAULT)
    table = run("plugins").stdout
    cmds = next(line for line in table.splitlines() if line.startswith("cmds "))
    assert cmds.split()[-1] == "hello"
    result = run("list", "commands")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert rows["hello"].split()[1:4] == ["plugin", "cmds", "Greet"]
    assert rows["train"].split()[1] == "forge-core" and rows["plugins"].split()[1] == "forge-core"
    data = json.loads(run("list", "commands", "--json").stdout)
    assert {"name": "hello", "provider": "plugin cmds", "summary": "Greet WHO."} in data
    assert [c["name"] for c in json.loads(run("list", "commands", "hel*", "--json").stdout)] == ["hello"]


CORE_AND_VISION = (ep("core", "forge.core._plugin"), ep("vision", "forge.vision.plugin"))


def test_info_on_a_name_of_two_kinds_shows_both_with_a_note(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*CORE_AND_VISION)
    result = run("info", "vision.digits")
    assert result.exit_code == 0, result.output
    assert "names 2 components (a dataset and a recipe)" in result.stderr and "--kind" in result.stderr
    assert "dataset vision.digits: " in result.stdout and "recipe vision.digits: " in result.stdout
    recipe = json.loads(run("info", "vision.digits", "--kind", "recipe", "--json").stdout)
    text = Path(recipe["file"]).read_text(encoding="utf-8")
    assert recipe["text"] == text and '[model]\nname = "vision.resnet18"' in text
    assert text in result.stdout  # the recipe's own file, to copy and edit
    both = json.loads(run("info", "vision.digits", "--json").stdout)
    assert [d["kind"] for d in both] == ["dataset", "recipe"]


def test_info_suggests_close_names_of_any_kind(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*CORE_AND_VISION)
    result = run("info", "resnet5")
    assert isinstance(result.exception, RegistryError)
    assert "no component named 'resnet5'; did you mean vision.resnet50 (model)" in str(result.exception)


def test_info_sample_shows_a_datasets_shapes(use_plugins) -> None:  # type: ignore[no-untyped-def]
    use_plugins(*CORE_AND_VISION)
    data = json.loads(run("info", "vision.digits", "--kind", "dataset", "--sample", "--json").stdout)
    sample = data["sample"]
    assert sample["input"] == {"shape": [1, 8, 8], "dtype": "float32"} and sample["num_classes"] == 10
    assert sample["sizes"] == {"train": 1259, "val": 179, "test": 359}
    text = run("info", "core.synthetic_classification", "--sample").stdout
    assert "  input:  float32 [16]\n  target: int64 []\n" in text


def test_config_show_takes_a_registered_recipe_name(use_plugins, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import tomllib

    use_plugins(*CORE_AND_VISION)
    result = run("config", "show", "vision/digits", "trainer.max_epochs=2")
    assert result.exit_code == 0, result.output
    shown = tomllib.loads(result.stdout)
    assert shown["model"]["name"] == "vision.resnet18" and shown["trainer"]["max_epochs"] == 2
    assert shown["model"]["stem"] == "small" and "zero_init_residual" in shown["model"]  # every default shown
    recipe = json.loads(run("info", "vision.digits", "--kind", "recipe", "--json").stdout)
    assert run("config", "show", recipe["file"], "trainer.max_epochs=2").stdout == result.stdout
    missing = run("config", "show", "vision/digitz")
    assert isinstance(missing.exception, ConfigError)
    assert "neither a config file nor a registered recipe" in str(missing.exception)
    assert "did you mean vision.digits" in str(missing.exception)
