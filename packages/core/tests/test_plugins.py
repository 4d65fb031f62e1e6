"""Plugin discovery: failure isolation, strict mode, block/allow lists, API versions, tracing."""

from __future__ import annotations

import io
import json
import sys
from importlib import metadata
from pathlib import Path

import pytest

from forge.core import _logging as flog
from forge.core._plugins import SUPPORTED_PLUGIN_APIS, PluginSettings
from forge.core._registry import Registry
from forge.core.errors import PluginError

FIXTURES = Path(__file__).parent / "fixtures"


pytestmark = pytest.mark.usefixtures("fixture_plugins")


def ep(name: str, module: str) -> metadata.EntryPoint:
    return metadata.EntryPoint(name=name, value=module, group="forge.plugins")


def registry_of(*eps: metadata.EntryPoint, **settings: object) -> Registry:
    return Registry(PluginSettings(**settings), entry_points=eps)  # type: ignore[arg-type]  # test-only kwargs


def by_name(reg: Registry) -> dict[str, object]:
    return {i.name: i for i in reg.plugins}


def test_failed_import_and_raising_hook_are_isolated() -> None:
    reg = registry_of(
        ep("broken", "forge_fixture_broken_import"),
        ep("raises", "forge_fixture_hook_raises"),
        ep("good", "forge_fixture_good"),
    )
    infos = {i.name: i for i in reg.plugins}
    assert infos["broken"].status == "failed"
    assert "import failed: ModuleNotFoundError" in (infos["broken"].error or "")
    assert "forge_fixture_this_module_does_not_exist" in (infos["broken"].error or "")
    assert infos["raises"].status == "failed"
    assert "forge_register_models failed: RuntimeError: registration exploded" in (infos["raises"].error or "")
    assert infos["good"].status == "loaded" and infos["good"].error is None
    assert infos["good"].components == {"model": ["good.tiny", "good.plain"], "loss": ["good.l1"]}
    # the failing hook registered "half" before raising: nothing of that plugin may remain
    names = [s.name for s in reg.list()]
    assert names == ["good.l1", "good.plain", "good.tiny"]
    assert infos["raises"].components == {}


@pytest.mark.parametrize(
    ("module", "needle"),
    [
        ("forge_fixture_broken_import", "import failed"),
        ("forge_fixture_hook_raises", "registration exploded"),
        ("forge_fixture_api2", "plugin API 2"),
    ],
)
def test_strict_mode_makes_a_failure_fatal(module: str, needle: str) -> None:
    reg = registry_of(ep("good", "forge_fixture_good"), ep("bad", module), strict=True)
    with pytest.raises(PluginError, match=needle) as info:
        reg.load()
    assert "plugin 'bad'" in str(info.value)


def test_strict_mode_is_read_from_the_environment() -> None:
    assert PluginSettings.from_env({"FORGE_STRICT_PLUGINS": "1"}).strict
    assert not PluginSettings.from_env({"FORGE_STRICT_PLUGINS": "0"}).strict
    assert not PluginSettings.from_env({}).strict
    reg = Registry(
        PluginSettings.from_env({"FORGE_STRICT_PLUGINS": "1"}),
        entry_points=[ep("broken", "forge_fixture_broken_import")],
    )
    with pytest.raises(PluginError, match="broken"):
        reg.load()


def test_disabled_plugins_are_never_imported() -> None:
    settings = PluginSettings.from_env({"FORGE_DISABLE_PLUGINS": "good, other"}, disable=["broken"])
    assert settings.disable == {"good", "other", "broken"}
    reg = Registry(
        settings,
        entry_points=[
            ep("good", "forge_fixture_good"),
            ep("other", "forge_fixture_other"),
            ep("broken", "forge_fixture_broken_import"),
            ep("api2", "forge_fixture_api2"),
        ],
    )
    infos = by_name(reg)
    assert [infos[n].status for n in ("good", "other", "broken", "api2")] == [  # type: ignore[attr-defined]
        "disabled",
        "disabled",
        "disabled",
        "incompatible",
    ]
    # blocked before import, not unregistered after: the modules never ran
    assert "forge_fixture_good" not in sys.modules
    assert "forge_fixture_other" not in sys.modules
    assert "forge_fixture_api2" in sys.modules
    assert reg.list() == []


def test_allow_list_loads_only_the_named_plugins() -> None:
    entry_points = [ep("good", "forge_fixture_good"), ep("other", "forge_fixture_other")]
    reg = Registry(PluginSettings.from_env({"FORGE_LOAD_PLUGINS": "other"}), entry_points=entry_points)
    assert {n: i.status for n, i in by_name(reg).items()} == {"good": "disabled", "other": "loaded"}  # type: ignore[attr-defined]
    assert "forge_fixture_good" not in sys.modules
    assert [s.name for s in reg.list("model")] == ["other.tiny", "other.wide"]


def test_empty_allow_list_loads_nothing_but_core() -> None:
    settings = PluginSettings.from_env({"FORGE_LOAD_PLUGINS": ""})
    assert settings.load == frozenset()
    reg = Registry(settings, entry_points=[ep("core", "forge_fixture_other"), ep("good", "forge_fixture_good")])
    # "core" stands for forge-core's own plugin, which can be neither blocked nor left out
    assert {n: i.status for n, i in by_name(reg).items()} == {"core": "loaded", "good": "disabled"}  # type: ignore[attr-defined]
    assert "forge_fixture_good" not in sys.modules


def test_core_cannot_be_disabled() -> None:
    reg = Registry(PluginSettings(disable=frozenset({"core"})), entry_points=[ep("core", "forge_fixture_good")])
    assert reg.plugins[0].status == "loaded"


@pytest.mark.parametrize(
    ("module", "declared"),
    [("forge_fixture_api2", "was built for plugin API 2"), ("forge_fixture_noapi", "declares no FORGE_PLUGIN_API")],
)
def test_incompatible_api_is_refused_naming_supported_versions(module: str, declared: str) -> None:
    reg = registry_of(ep("old", module), ep("good", "forge_fixture_good"))
    info = reg.plugins[0]
    assert info.status == "incompatible"
    supported = ", ".join(map(str, sorted(SUPPORTED_PLUGIN_APIS)))
    assert declared in (info.error or "")
    assert f"supports plugin API {supported}" in (info.error or "")
    assert reg.plugins[1].status == "loaded"
    assert [s.name for s in reg.list("model")] == ["good.plain", "good.tiny"]


def test_boolean_api_version_is_not_taken_for_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "forge_fixture_boolapi.py").write_text("FORGE_PLUGIN_API = True\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = registry_of(ep("boolapi", "forge_fixture_boolapi"))
    assert reg.plugins[0].status == "incompatible"


@pytest.mark.parametrize(
    ("module", "needle"),
    [
        ("forge_fixture_misspelt", "unknown hook(s) forge_register_model;"),
        ("forge_fixture_badsig", "invalid hook implementation"),
    ],
)
def test_malformed_hooks_fail_that_plugin_only(module: str, needle: str) -> None:
    reg = registry_of(ep("bad", module), ep("good", "forge_fixture_good"))
    bad, good = reg.plugins
    assert bad.status == "failed" and needle in (bad.error or "")
    assert good.status == "loaded"
    assert [s.name for s in reg.list("loss")] == ["good.l1"]


def test_duplicate_entry_point_names_are_refused_for_both() -> None:
    reg = registry_of(ep("tiny", "forge_fixture_good"), ep("tiny", "forge_fixture_other"))
    for info in reg.plugins:
        assert info.status == "failed"
        assert "'tiny' is declared by module forge_fixture_good and module forge_fixture_other" in (info.error or "")
    assert "forge_fixture_good" not in sys.modules and "forge_fixture_other" not in sys.modules
    assert reg.list() == []


def installed(root: Path, dist: str, version: str = "1.0", **entry_points: str) -> list[metadata.EntryPoint]:
    """The entry points of a distribution ``dist`` written as a *.dist-info under ``root``.

    They carry their distribution (``ep.dist``) as installed ones do.
    """
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8")
    lines = "".join(f"{name} = {module}\n" for name, module in entry_points.items())
    (info / "entry_points.txt").write_text(f"[forge.plugins]\n{lines}", encoding="utf-8")
    return list(metadata.Distribution.at(info).entry_points)


@pytest.fixture
def impostor(tmp_path: Path) -> dict[str, list[metadata.EntryPoint]]:
    """The genuine forge-core and forge-vision (fixture modules standing in) and forge-evil, which
    declares their entry-point names."""
    return {
        "genuine": installed(tmp_path, "forge-core", core="forge_fixture_good")
        + installed(tmp_path, "forge_Vision", vision="forge_fixture_other"),
        "evil": installed(tmp_path, "forge-evil", "6.6", core="forge_fixture_dupes", vision="forge_fixture_commands"),
    }


@pytest.mark.parametrize("evil_first", [True, False])
def test_impostor_of_a_forge_name_is_refused_whatever_the_order(
    impostor: dict[str, list[metadata.EntryPoint]], evil_first: bool
) -> None:
    eps = impostor["evil"] + impostor["genuine"] if evil_first else impostor["genuine"] + impostor["evil"]
    reg = registry_of(*eps)
    status = {(i.name, i.distribution): (i.status, i.error or "") for i in reg.plugins}
    assert status[("core", "forge-core")] == ("loaded", "")
    assert status[("vision", "forge_Vision")] == ("loaded", "")
    for name, owner in (("core", "forge-core"), ("vision", "forge-vision")):
        state, error = status[(name, "forge-evil")]
        assert state == "failed"
        assert f"entry point name {name!r} belongs to forge's own distribution {owner}" in error
        assert "forge-evil 6.6" in error
    assert "forge_fixture_dupes" not in sys.modules and "forge_fixture_commands" not in sys.modules
    assert {s.name for s in reg.list("model")} == {"core.tiny", "core.plain", "vision.tiny", "vision.wide"}


def test_strict_mode_blames_the_impostor(impostor: dict[str, list[metadata.EntryPoint]]) -> None:
    with pytest.raises(PluginError, match=r"plugin 'core' \(forge-evil 6\.6\): .* belongs to .* forge-core"):
        registry_of(*impostor["evil"], *impostor["genuine"], strict=True).load()


@pytest.mark.parametrize("names", ["forge-evil", "forge_evil", "core, vision"])
def test_disabling_an_impostor_leaves_the_genuine_plugin_loaded(
    impostor: dict[str, list[metadata.EntryPoint]], names: str
) -> None:
    settings = PluginSettings.from_env({"FORGE_DISABLE_PLUGINS": names, "FORGE_STRICT_PLUGINS": "1"})
    reg = Registry(settings, entry_points=[*impostor["evil"], *impostor["genuine"]])
    status = {(i.name, i.distribution): i.status for i in reg.plugins}
    assert status[("core", "forge-core")] == "loaded"
    assert status[("core", "forge-evil")] == "disabled"
    assert status[("vision", "forge-evil")] == "disabled"
    # disabling by the entry-point name "vision" disables the genuine vision too; by distribution, only evil
    assert status[("vision", "forge_Vision")] == ("disabled" if "vision" in names else "loaded")


def test_clash_between_third_parties_is_refused_for_both_whatever_the_order(tmp_path: Path) -> None:
    a = installed(tmp_path, "forge-acme", tiny="forge_fixture_good")
    b = installed(tmp_path, "forge-zeta", "2.0", tiny="forge_fixture_other")
    for eps in (a + b, b + a):
        reg = registry_of(*eps)
        for info in reg.plugins:
            assert info.status == "failed"
            assert "declared by forge-acme 1.0 and forge-zeta 2.0" in (info.error or "")
        assert reg.list() == []
    with pytest.raises(PluginError, match="forge-acme 1.0 and forge-zeta 2.0"):
        registry_of(*b, *a, strict=True).load()


def test_allow_and_block_lists_take_distribution_names(tmp_path: Path) -> None:
    a = installed(tmp_path, "forge-acme", tiny="forge_fixture_good")
    b = installed(tmp_path, "forge-zeta", "2.0", tiny="forge_fixture_other")
    reg = Registry(PluginSettings.from_env({"FORGE_DISABLE_PLUGINS": "forge-zeta"}), entry_points=a + b)
    assert [(i.distribution, i.status) for i in reg.plugins] == [("forge-acme", "loaded"), ("forge-zeta", "disabled")]
    reg = Registry(PluginSettings.from_env({"FORGE_LOAD_PLUGINS": "Forge.Zeta"}), entry_points=a + b)
    assert [(i.distribution, i.status) for i in reg.plugins] == [("forge-acme", "disabled"), ("forge-zeta", "loaded")]
    assert [s.name for s in reg.list("model")] == ["tiny.tiny", "tiny.wide"]


def test_same_module_under_two_names_is_loaded_once() -> None:
    reg = registry_of(ep("a", "forge_fixture_good"), ep("b", "forge_fixture_good"))
    a, b = reg.plugins
    assert a.status == "loaded"
    assert b.status == "failed" and "already loaded as plugin 'a'" in (b.error or "")


def test_duplicate_component_names_fail_the_plugin() -> None:
    reg = registry_of(ep("dupes", "forge_fixture_dupes"), ep("good", "forge_fixture_good"))
    dupes = reg.plugins[0]
    assert dupes.status == "failed" and "model:dupes.twice" in (dupes.error or "")
    assert reg.plugins[1].status == "loaded"


def test_failures_are_logged_as_warnings() -> None:
    out = io.StringIO()
    flog.configure_logging(fmt="json", level="warning", stream=out)
    try:
        registry_of(ep("broken", "forge_fixture_broken_import")).load()
    finally:
        flog.configure_logging(fmt="console", level="info")
    event = json.loads(out.getvalue().splitlines()[0])
    assert event["event"] == "plugin_failed" and event["plugin"] == "broken" and event["level"] == "warning"


def test_trace_logs_every_hook_call_with_implementations_and_results() -> None:
    settings = PluginSettings.from_env({"FORGE_TRACE_PLUGINS": "1"})
    assert settings.trace
    out = io.StringIO()
    flog.configure_logging(fmt="json", level="info", stream=out)
    try:
        reg = Registry(
            settings, entry_points=[ep("good", "forge_fixture_good"), ep("raises", "forge_fixture_hook_raises")]
        )
        reg.load()
    finally:
        flog.configure_logging(fmt="console", level="info")
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    calls = [e for e in events if e["event"] == "hook_call"]
    results = [e for e in events if e["event"] == "hook_result"]
    assert {"hook": "forge_register_models", "implementations": ["good"]}.items() <= calls[0].items()
    assert {(e["hook"], tuple(e["implementations"])) for e in calls} >= {
        ("forge_register_models", ("good",)),
        ("forge_register_losses", ("good",)),
        ("forge_register_models", ("raises",)),
    }
    ok = [e for e in results if e["hook"] == "forge_register_losses" and e["implementations"] == ["good"]]
    assert ok and ok[0]["result"] == "[]" and ok[0]["error"] is None  # pluggy drops None results
    registered = [(e["plugin"], e["kind"], e["name"], e["builder"]) for e in events if e["event"] == "hook_register"]
    assert ("good", "loss", "good.l1", "forge_fixture_impl:build_l1") in registered
    assert ("raises", "model", "raises.half", "forge_fixture_impl:build_tiny") in registered
    failed = [e for e in results if e["implementations"] == ["raises"] and e["hook"] == "forge_register_models"]
    assert failed and "RuntimeError: registration exploded" in failed[0]["error"]


def test_no_trace_without_the_flag() -> None:
    out = io.StringIO()
    flog.configure_logging(fmt="json", level="debug", stream=out)
    try:
        registry_of(ep("good", "forge_fixture_good")).load()
    finally:
        flog.configure_logging(fmt="console", level="info")
    assert "hook_call" not in out.getvalue()


def test_plugin_info_json_is_serialisable() -> None:
    reg = registry_of(ep("good", "forge_fixture_good"), ep("broken", "forge_fixture_broken_import"))
    data = json.loads(json.dumps([i.to_json() for i in reg.plugins]))
    assert data[0]["name"] == "good" and data[0]["api_version"] == 1 and data[0]["module"] == "forge_fixture_good"
    assert data[1]["status"] == "failed" and data[1]["api_version"] is None


def test_typed_hook_facade_calls_one_plugin_or_all() -> None:
    from importlib import metadata as md

    from forge.core._plugins import ForgeHooks
    from forge.core._registry import Registry as _Registry

    eps = [md.EntryPoint(name="core", value="forge.core._plugin", group="forge.plugins")]
    pm = _Registry(entry_points=eps).plugin_manager()
    names: list[str] = []

    def collect(name: str, /, **_: object) -> None:
        names.append(name)

    ForgeHooks(pm, plugin="core").register_kind("model", collect)
    assert "mlp" in names and "cross_entropy" not in names  # core's models only
    names.clear()
    ForgeHooks(pm).register_kind("loss", collect)
    assert "cross_entropy" in names and "focal" in names
    names.clear()
    ForgeHooks(pm, plugin="nobody").register_kind("model", collect)
    assert names == []


def test_per_kind_facade_methods_are_deprecated_aliases_of_register_kind() -> None:
    from forge.core._deprecated import ForgeDeprecationWarning
    from forge.core._plugins import ForgeHooks

    pm = Registry(entry_points=[ep("good", "forge_fixture_good")]).plugin_manager()
    names: list[str] = []
    with pytest.warns(ForgeDeprecationWarning, match=r"ForgeHooks\.register_losses .*register_kind\('loss'"):
        ForgeHooks(pm).register_losses(lambda name, /, **_: names.append(name))  # type: ignore[attr-defined]  # deprecated
    assert names == ["l1"]
    with pytest.raises(AttributeError, match="register_widgets"):
        ForgeHooks(pm).register_widgets  # type: ignore[attr-defined]  # no such kind  # noqa: B018


def test_hookspecs_are_generated_from_the_kinds_with_their_docs() -> None:
    import inspect
    import typing

    import pluggy

    from forge.core import _plugin as plugin
    from forge.core import hookspecs
    from forge.core.hookspecs import KINDS, Register

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    specs = {name for name in dir(pm.hook) if name.startswith("forge_")}
    assert specs == {k.hook for k in KINDS.values()} | {"forge_register_commands"}
    assert [k.plural for k in KINDS.values()][:3] == ["models", "losses", "metrics"]
    for kind in KINDS.values():
        spec = getattr(hookspecs, kind.hook)
        assert spec.__name__ == kind.hook and spec.__doc__ == kind.doc and kind.doc.startswith("Register ")
        assert list(inspect.signature(spec).parameters) == ["register"]
        assert typing.get_type_hints(spec) == {"register": Register, "return": type(None)}
    # core's own plugin implements one hook per catalog, each named after its kind's hook
    assert {n for n in dir(plugin) if n.startswith("forge_")} == {KINDS[k].hook for k in plugin._CATALOGS}


def test_the_plugin_guide_lists_every_hook() -> None:
    from forge.core.hookspecs import KINDS

    guide = (Path(__file__).parents[3] / "docs" / "plugins.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1].strip(" `") for line in guide.splitlines() if line.startswith("| `forge_register_")]
    assert rows == [k.hook for k in KINDS.values()] + ["forge_register_commands"]


def test_record_failure_marks_unregisters_and_obeys_strict() -> None:
    from forge.core._plugins import PluginInfo, record_failure

    reg = registry_of(ep("good", "forge_fixture_good"))
    pm = reg.plugin_manager()
    info = reg.plugins[0]
    record_failure(info, PluginSettings(), "went wrong", pm=pm)
    assert (info.status, info.error) == ("failed", "went wrong")
    assert pm.get_plugin("good") is None
    other = PluginInfo(name="x", distribution="forge-x", version="1.0", module="m", status="loaded")
    with pytest.raises(PluginError, match=r"plugin 'x' \(forge-x 1\.0\): too old") as exc_info:
        record_failure(other, PluginSettings(strict=True), "too old", ValueError("cause"), status="incompatible")
    assert other.status == "incompatible" and isinstance(exc_info.value.__cause__, ValueError)


@pytest.fixture
def command_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[metadata.EntryPoint]:
    (tmp_path / "forge_fixture_cmd_raises.py").write_text(
        "import click\nfrom forge.core.hookspecs import hookimpl\nFORGE_PLUGIN_API = 1\n"
        "@hookimpl\ndef forge_register_commands(register):\n"
        "    register(click.Command('half'))\n    raise RuntimeError('commands exploded')\n",
        encoding="utf-8",
    )
    (tmp_path / "forge_fixture_cmd_nameless.py").write_text(
        "import click\nfrom forge.core.hookspecs import hookimpl\nFORGE_PLUGIN_API = 1\n"
        "@hookimpl\ndef forge_register_commands(register):\n    register(click.Command(None))\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return [
        ep("raises", "forge_fixture_cmd_raises"),
        ep("nameless", "forge_fixture_cmd_nameless"),
        ep("cmds", "forge_fixture_commands"),
        ep("broken", "forge_fixture_broken_import"),
    ]


def test_collect_commands_isolates_each_plugin(command_plugins: list[metadata.EntryPoint]) -> None:
    from forge.core._plugins import collect_commands

    reg = registry_of(*command_plugins)
    commands = collect_commands(reg.plugin_manager(), reg.plugins, reg.settings)
    assert list(commands) == ["hello"]  # "half" came from a plugin whose hook then raised
    infos = by_name(reg)
    assert infos["raises"].status == "failed"  # type: ignore[attr-defined]
    assert "forge_register_commands failed: RuntimeError: commands exploded" in infos["raises"].error  # type: ignore[attr-defined]
    assert "has no name" in infos["nameless"].error  # type: ignore[attr-defined]
    assert infos["cmds"].status == "loaded"  # type: ignore[attr-defined]
    fresh = registry_of(*command_plugins)
    with pytest.raises(PluginError, match="commands exploded"):
        collect_commands(fresh.plugin_manager(), fresh.plugins, PluginSettings(strict=True))


def test_registry_exposes_loaded_and_settings() -> None:
    settings = PluginSettings(trace=True)
    reg = Registry(settings, entry_points=[ep("good", "forge_fixture_good")])
    assert reg.settings is settings and not reg.loaded
    reg.load()
    assert reg.loaded
    assert Registry(entry_points=[]).settings == PluginSettings.from_env()
