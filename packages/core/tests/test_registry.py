"""The component registry: names, lookup errors, listing filters, building, laziness."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

from forge.core._plugins import PluginSettings
from forge.core._registry import KINDS, ComponentSpec, Registry, normalize_kind
from forge.core.errors import ConfigError, PluginError, RegistryError

FIXTURES = Path(__file__).parent / "fixtures"


pytestmark = pytest.mark.usefixtures("fixture_plugins")


def ep(name: str, module: str) -> metadata.EntryPoint:
    return metadata.EntryPoint(name=name, value=module, group="forge.plugins")


@pytest.fixture
def reg() -> Registry:
    return Registry(
        PluginSettings(), entry_points=[ep("good", "forge_fixture_good"), ep("other", "forge_fixture_other")]
    )


def test_names_are_qualified_by_the_entry_point_name(reg: Registry) -> None:
    spec = reg.get("model", "good.tiny")
    assert (spec.kind, spec.name, spec.short_name, spec.provider) == ("model", "good.tiny", "tiny", "good")
    assert spec.builder == "forge_fixture_impl:build_tiny"
    assert spec.config == "forge_fixture_configs:TinyConfig"
    assert spec.tags == {"image-classification", "cnn"}
    assert spec.defaults == {"num_classes": 10}


def test_unambiguous_short_name(reg: Registry) -> None:
    assert reg.get("model", "wide").name == "other.wide"
    assert reg.get("loss", "l1").name == "good.l1"
    assert reg.get("models", "plain") is reg.get("model", "good.plain")


def test_ambiguous_short_name_names_both_providers(reg: Registry) -> None:
    with pytest.raises(RegistryError) as info:
        reg.get("model", "tiny")
    msg = str(info.value)
    assert "ambiguous" in msg
    assert "good.tiny (from good)" in msg and "other.tiny (from other)" in msg
    assert "qualified name" in msg


def test_unknown_name_suggests_close_matches(reg: Registry) -> None:
    with pytest.raises(RegistryError, match=r"no model named 'tinny'; did you mean .*tiny"):
        reg.get("model", "tinny")
    with pytest.raises(RegistryError, match=r"did you mean .*other\.wide"):
        reg.get("model", "other.wdie")


def test_unknown_name_without_close_match_points_at_forge_list(reg: Registry) -> None:
    with pytest.raises(RegistryError, match=r"no loss named 'zzz'; `forge list losses` shows them"):
        reg.get("loss", "zzz")


def test_the_same_name_in_another_kind_is_not_found(reg: Registry) -> None:
    with pytest.raises(RegistryError, match="no loss named 'tiny'"):
        reg.get("loss", "tiny")


@pytest.mark.parametrize("kind", ["model", "models", "Model", " MODELS "])
def test_kind_spellings(kind: str) -> None:
    assert normalize_kind(kind) == "model"


def test_every_kind_has_a_plural_form() -> None:
    for kind in KINDS:
        plural = "losses" if kind == "loss" else f"{kind}s"
        assert normalize_kind(plural) == kind


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(RegistryError, match=r"unknown component kind 'widget'; known kinds: model, loss"):
        normalize_kind("widget")


def test_list_by_kind_pattern_and_tags(reg: Registry) -> None:
    def names(**kw: object) -> list[str]:
        return [s.name for s in reg.list(**kw)]  # type: ignore[arg-type]  # keywords of Registry.list

    assert names(kind="model") == ["good.plain", "good.tiny", "other.tiny", "other.wide"]
    assert names() == ["good.l1", "good.plain", "good.tiny", "other.tiny", "other.wide"]
    assert names(kind="model", pattern="t*") == ["good.tiny", "other.tiny"]  # glob on the short name
    assert names(kind="model", pattern="other.*") == ["other.tiny", "other.wide"]  # glob on the qualified name
    assert names(kind="model", pattern="ide") == ["other.wide"]  # plain text matches as a substring
    assert names(kind="model", tags=["cnn"]) == ["good.tiny", "other.wide"]
    assert names(kind="model", tags=["cnn", "image-classification"]) == ["good.tiny"]  # every tag must match
    assert names(kind="model", pattern="*tiny", tags=["image-classification"]) == ["good.tiny", "other.tiny"]
    assert names(kind="model", tags=["nope"]) == []
    assert names(kind="metrics") == []


def test_build_applies_defaults_then_overrides(reg: Registry) -> None:
    built = reg.build("model", "good.tiny")
    assert built.what == "tiny"
    assert (built.config.width, built.config.num_classes, built.config.head.dropout) == (8, 10, 0.0)
    built = reg.build("model", "other.wide", num_classes=7, **{"head.dropout": 0.5})
    assert (built.what, built.config.width, built.config.num_classes, built.config.head.dropout) == ("wide", 64, 7, 0.5)
    built = reg.build("model", "other.tiny", head={"bias": False})
    assert built.config.head.bias is False and built.config.num_classes == 3


def test_build_without_config_class_passes_keywords(reg: Registry) -> None:
    built = reg.build("model", "plain", width=3)
    assert built.what == "plain" and built.config == {"depth": 2, "width": 3}


def test_build_refuses_bad_overrides_with_the_key_path(reg: Registry) -> None:
    with pytest.raises(ConfigError, match=r"model good\.tiny\.width: expected int, got str 'x'"):
        reg.build("model", "good.tiny", width="x")
    with pytest.raises(ConfigError, match=r"model good\.tiny\.head\.colour: unknown key"):
        reg.build("model", "good.tiny", **{"head.colour": 1})


def test_build_takes_a_resolved_config_object_as_it_is(reg: Registry) -> None:
    config = reg.make_config("model", "other.wide", {"width": 2})
    built = reg.build("model", "other.wide", config)
    assert built.what == "wide" and built.config is config  # handed on, not re-structured
    assert reg.build("model", "good.tiny", config).config is config  # same config class, another variant


def test_build_refuses_a_config_object_with_overrides_or_of_the_wrong_class(reg: Registry) -> None:
    config = reg.make_config("model", "other.wide")
    with pytest.raises(ConfigError, match=r"model other\.wide: give a config object or overrides, not both \(width\)"):
        reg.build("model", "other.wide", config, width=3)
    loss_config = reg.make_config("loss", "l1")
    wrong_class = r"model other\.wide takes a forge_fixture_configs\.TinyConfig config, got a forge_fixture_configs\.L1"
    with pytest.raises(ConfigError, match=wrong_class):
        reg.build("model", "other.wide", loss_config)
    with pytest.raises(ConfigError, match=r"model good\.plain has no config class"):
        reg.build("model", "good.plain", config)


def test_builder_returns_the_imported_builder(reg: Registry) -> None:
    builder = reg.builder("model", "wide")
    assert builder.__name__ == "build_wide" and builder.__module__ == "forge_fixture_impl"
    assert builder(reg.make_config("model", "wide", {"width": 1})).config.width == 1
    with pytest.raises(RegistryError, match="no model named 'nope'"):
        reg.builder("model", "nope")


def test_required_field_without_default_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "forge_fixture_nodefault.py").write_text(
        "from forge.core.hookspecs import hookimpl\nFORGE_PLUGIN_API = 1\n"
        "@hookimpl\ndef forge_register_models(register):\n"
        "    register('bare', builder='forge_fixture_impl:build_tiny', config='forge_fixture_configs:TinyConfig')\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    r = Registry(PluginSettings(), entry_points=[ep("nd", "forge_fixture_nodefault")])
    with pytest.raises(ConfigError, match=r"model nd\.bare\.num_classes: required field missing \(expected int\)"):
        r.build("model", "bare")
    assert r.build("model", "bare", num_classes=2).config.num_classes == 2


def test_make_config_and_config_class(reg: Registry) -> None:
    cfg = reg.make_config("model", "other.wide", {"width": 2})
    cls = reg.config_class(reg.get("model", "other.wide"))
    assert cls is not None and isinstance(cfg, cls)
    assert (cfg.width, cfg.num_classes) == (2, 5)
    assert reg.config_class(reg.get("model", "good.plain")) is None
    with pytest.raises(RegistryError, match="has no config class"):
        reg.make_config("model", "good.plain")


def test_listing_and_describing_do_not_import_builders(reg: Registry) -> None:
    reg.list()
    reg.get("model", "wide")
    reg.config_class(reg.get("model", "good.tiny"))
    assert "forge_fixture_good" in sys.modules  # the light registration modules are imported
    assert "forge_fixture_impl" not in sys.modules  # the "heavy" builder module is not
    reg.build("loss", "l1")
    assert "forge_fixture_impl" in sys.modules


def test_unimportable_builder_is_a_plugin_error_naming_the_component(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "forge_fixture_missing.py").write_text(
        "from forge.core.hookspecs import hookimpl\nFORGE_PLUGIN_API = 1\n"
        "@hookimpl\ndef forge_register_losses(register):\n"
        "    register('gone', builder='forge_fixture_nowhere:build')\n"
        "    register('typo', builder='forge_fixture_impl:build_l2')\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    r = Registry(PluginSettings(), entry_points=[ep("m", "forge_fixture_missing")])
    with pytest.raises(PluginError, match=r"builder of loss m\.gone: cannot import 'forge_fixture_nowhere'"):
        r.build("loss", "gone")
    with pytest.raises(PluginError, match=r"builder of loss m\.typo: module 'forge_fixture_impl' has no attribute"):
        r.build("loss", "typo")


def test_invalid_short_names_fail_the_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "forge_fixture_dotted.py").write_text(
        "from forge.core.hookspecs import hookimpl\nFORGE_PLUGIN_API = 1\n"
        "@hookimpl\ndef forge_register_models(register):\n    register('a.b', builder='x:y')\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    r = Registry(PluginSettings(), entry_points=[ep("d", "forge_fixture_dotted")])
    assert r.plugins[0].status == "failed"
    assert "model name 'a.b': must be non-empty without '.' or '/'" in (r.plugins[0].error or "")


def test_settings_cannot_change_after_first_use(reg: Registry) -> None:
    reg.list()
    with pytest.raises(PluginError, match="before the registry is first used"):
        reg.configure(PluginSettings())


def test_spec_json() -> None:
    spec = ComponentSpec(
        kind="model", name="p.x", provider="p", builder="m:f", tags=frozenset({"b", "a"}), defaults={"k": 1}
    )
    assert spec.short_name == "x"
    assert spec.to_json() == {
        "kind": "model",
        "name": "p.x",
        "provider": "p",
        "builder": "m:f",
        "config": None,
        "defaults": {"k": 1},
        "tags": ["a", "b"],
        "summary": "",
        "example": None,
    }


def _plugin_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(
        "from forge.core.hookspecs import hookimpl\nFORGE_PLUGIN_API = 1\n@hookimpl\n"
        "def forge_register_models(register):\n" + body,
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return path


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        ("register('form', builder='pkg.models.build')", "builder must be a 'module:attr' string"),
        ("register('cfg', builder='m:f', config='pkg.Config')", "config must be a 'module:attr' string"),
        ("register('kw', builder='m:f', sumary='typo')", "unexpected keyword argument 'sumary'"),
        ("register('a.b', builder='m:f')", "must be non-empty without '.' or '/'"),
    ],
)
def test_registration_errors_point_at_the_plugins_register_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str, problem: str
) -> None:
    path = _plugin_file(tmp_path, monkeypatch, "forge_fixture_badreg", f"    x = 1\n    {call}\n")
    r = Registry(PluginSettings(), entry_points=[ep("bad", "forge_fixture_badreg")])
    info = r.plugins[0]
    assert info.status == "failed" and problem in (info.error or ""), info.error
    # the register(...) call is line 6 of the plugin; core's registry is not blamed
    assert f"{path}:6" in (info.error or "") and "_registry.py" not in (info.error or "")
    with pytest.raises(PluginError, match=rf"{path}:6"):
        Registry(PluginSettings(strict=True), entry_points=[ep("bad", "forge_fixture_badreg")]).load()


def test_a_hook_that_raises_is_located_in_the_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _plugin_file(tmp_path, monkeypatch, "forge_fixture_raising", "    raise KeyError('oops')\n")
    info = Registry(PluginSettings(), entry_points=[ep("r", "forge_fixture_raising")]).plugins[0]
    assert info.status == "failed" and f"KeyError: 'oops' ({path}:5)" in (info.error or "")


def test_duplicate_registrations_name_both_call_sites(fixture_plugins: Path) -> None:
    info = Registry(PluginSettings(), entry_points=[ep("dupes", "forge_fixture_dupes")]).plugins[0]
    where = fixture_plugins / "forge_fixture_dupes.py"
    assert f"model:dupes.twice (registered at {where}:12 and {where}:13)" in (info.error or ""), info.error


def test_an_error_raised_in_a_library_the_hook_calls_is_located_at_the_plugins_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = "    import json\n    json.loads('{')\n"
    path = _plugin_file(tmp_path, monkeypatch, "forge_fixture_libcall", body)
    info = Registry(PluginSettings(), entry_points=[ep("lib", "forge_fixture_libcall")]).plugins[0]
    assert info.status == "failed" and "JSONDecodeError" in (info.error or "")
    assert (info.error or "").endswith(f"({path}:6)"), info.error  # not json/decoder.py
