"""Config layer: exact round-trips through every file format, overrides, and precise errors."""

from __future__ import annotations

import itertools
import json
import keyword
import re
from pathlib import Path
from typing import Any, Optional

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forge.core import config as cfg
from forge.core.errors import ConfigError

FORMATS = ("toml", "yaml", "json")
_names = itertools.count()

# -- generated config classes --------------------------------------------------------------
# A schema is a list of (field name, type, default) with types drawn from what configs use;
# ``build_class`` turns it into a frozen attrs class, ``values_for`` generates matching data.

INT64 = st.integers(-(2**63), 2**63 - 1)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
KEYS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=6)
LEAF_TYPES: dict[Any, st.SearchStrategy[Any]] = {
    int: INT64,
    float: FLOATS,
    bool: st.booleans(),
    str: TEXT,
    list[int]: st.lists(INT64, max_size=3),
    list[str]: st.lists(TEXT, max_size=3),
    tuple[float, ...]: st.lists(FLOATS, max_size=3),
    dict[str, int]: st.dictionaries(KEYS, INT64, max_size=3),
    Optional[int]: st.none() | INT64,  # noqa: UP045  # the Optional spelling configs use on 3.10
}


def build_class(schema: list[tuple[str, Any, bool]]) -> type:
    fields = {}
    for name, tp, optional in schema:
        # TOML has no null, so a field that may hold None must default to None to round-trip
        default = None if tp == Optional[int] else attrs.NOTHING  # noqa: UP045
        if optional and default is attrs.NOTHING:
            default = _default_for(tp)
        fields[name] = attrs.field(type=tp, default=default, metadata={"help": f"the {name} field"})
    # attrs wants fields with defaults after those without
    ordered = dict(sorted(fields.items(), key=lambda kv: kv[1]._default is not attrs.NOTHING))
    return attrs.make_class(f"Generated{next(_names)}", ordered, frozen=True)


def _default_for(tp: Any) -> Any:
    if attrs.has(tp):
        return attrs.Factory(lambda: cfg.structure({}, tp)) if not _required(tp) else attrs.NOTHING
    return {int: 0, float: 0.5, bool: False, str: "x"}.get(
        tp, attrs.Factory(list) if "list" in repr(tp) else attrs.NOTHING
    )


def _required(cls: type) -> bool:
    return any(a.default is attrs.NOTHING for a in attrs.fields(cls))


@st.composite
def schemas(draw: st.DrawFn, depth: int = 2) -> type:
    name = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(lambda n: not keyword.iskeyword(n))
    names = draw(st.lists(name, min_size=1, max_size=5, unique=True))
    schema = []
    for name in names:
        if depth > 0 and draw(st.integers(0, 4)) == 0:
            tp: Any = draw(schemas(depth - 1))
        else:
            tp = draw(st.sampled_from(list(LEAF_TYPES)))
        schema.append((name, tp, draw(st.booleans())))
    return build_class(schema)


def values_for(cls: type) -> st.SearchStrategy[dict[str, Any]]:
    """Plain data holding every field of ``cls`` (so ``unstructure(structure(d)) == d``)."""
    parts = {}
    for a in attrs.fields(cls):
        parts[a.name] = values_for(a.type) if attrs.has(a.type) else LEAF_TYPES[a.type]
    return st.fixed_dictionaries(parts)


@st.composite
def configs(draw: st.DrawFn) -> tuple[type, dict[str, Any]]:
    cls = draw(schemas())
    return cls, draw(values_for(cls))


def leaves(cls: type, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    out = []
    for a in attrs.fields(cls):
        if attrs.has(a.type):
            out.extend(leaves(a.type, (*prefix, a.name)))
        else:
            out.append(((*prefix, a.name), a.type))
    return out


def set_path(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(data))
    node = out
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return out


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- round trips ---------------------------------------------------------------------------
@FAST
@given(configs(), st.sampled_from(FORMATS))
def test_round_trip_through_every_format(case: tuple[type, dict[str, Any]], fmt: str) -> None:
    cls, data = case
    obj = cfg.structure(data, cls)
    plain = cfg.unstructure(obj)
    text = cfg.dumps(obj, fmt)
    back = cfg.structure(cfg.loads(text, fmt), cls)
    assert back == obj
    assert cfg.unstructure(back) == plain


@FAST
@given(configs(), st.sampled_from(["toml", "yaml", "yml", "json"]))
def test_round_trip_through_files(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[type, dict[str, Any]], suffix: str
) -> None:
    cls, data = case
    obj = cfg.structure(data, cls)
    path = cfg.dump(obj, tmp_path_factory.mktemp("cfg") / f"c.{suffix}")
    assert cfg.load(path, cls) == obj
    assert not list(path.parent.glob(".*tmp"))  # the atomic write leaves no temporary behind


# -- overrides -----------------------------------------------------------------------------
@FAST
@given(st.data())
def test_overrides_convert_to_the_field_type(data: st.DataObject) -> None:
    cls, values = data.draw(configs())
    path, tp = data.draw(st.sampled_from(leaves(cls)))
    if tp not in (int, float, bool, str):
        return
    new = data.draw(LEAF_TYPES[tp])
    text = {bool: lambda v: str(v).lower(), float: repr}.get(tp, str)(new)
    override = f"{'.'.join(path)}={text}"
    obj = cfg.structure(cfg.apply_overrides(values, [override], cls), cls)
    node: Any = obj
    for part in path:
        node = getattr(node, part)
    assert node == new and type(node) is tp


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a=5", 5),
        ("a=-3", -3),
        ("a=0.25", 0.25),
        ("a=1e-3", 1e-3),
        ("a=2E+5", 2e5),
        ("a=true", True),
        ("a=false", False),
        ("a=null", None),
        ("a=[1, 2]", [1, 2]),
        ("a={x: 1}", {"x": 1}),
        ("a=hello", "hello"),
        ("a=", ""),
        ("a=x=y", "x=y"),
        ("a.b-c.d_e=1", 1),
    ],
)
def test_parse_override(text: str, value: Any) -> None:
    path, parsed = cfg.parse_override(text)
    assert path == text.partition("=")[0].split(".")
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize("text", ["novalue", "=3", "a..b=1", ".a=1", "a b=1", "1a=2"])
def test_malformed_override(text: str) -> None:
    with pytest.raises(ConfigError, match=r"expected KEY\.PATH=VALUE"):
        cfg.parse_override(text)


@attrs.frozen
class Trainer:
    max_epochs: int = cfg.field(10, help="Epochs.")
    lr: float = cfg.field(0.1, help="Learning rate.")
    run_name: str = cfg.field("run", help="Name.")
    tag: Optional[str] = cfg.field(None, help="Optional tag.")  # noqa: UP045


@attrs.frozen
class Model:
    num_classes: int = cfg.field(help="Classes.")
    widths: tuple[int, ...] = cfg.field((8, 8), help="Hidden widths.")


@attrs.frozen
class Root:
    model: Model = cfg.field(help="The model.")
    trainer: Trainer = cfg.field(factory=Trainer, help="The trainer.")


def test_overrides_deep_copy_create_tables_and_keep_strings_for_str_fields() -> None:
    data = {"model": {"num_classes": 3}}
    out = cfg.apply_overrides(
        data,
        ["trainer.max_epochs=5", "trainer.lr=1e-4", "trainer.run_name=123", "trainer.tag=007", "model.widths=[4, 2]"],
        Root,
    )
    assert data == {"model": {"num_classes": 3}}  # the input is untouched
    obj = cfg.structure(out, Root)
    assert obj.trainer == Trainer(max_epochs=5, lr=1e-4, run_name="123", tag="007")
    assert obj.model.widths == (4, 2)
    # without the class, "123" is read as YAML and the str field refuses the int
    with pytest.raises(ConfigError, match=r"trainer\.run_name: expected str, got int 123"):
        cfg.structure(cfg.apply_overrides(data, ["trainer.run_name=123"]), Root)


def test_override_into_a_scalar_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"model\.num_classes is a int, not a table"):
        cfg.apply_overrides({"model": {"num_classes": 3}}, ["model.num_classes.x=1"])


# -- refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("x", "expected int, got str 'x'"),
        (5.7, "expected int, got float 5.7"),
        (True, "expected int, got bool True"),
        (None, "expected int, got NoneType None"),
    ],
)
def test_int_field_refuses(value: Any, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        cfg.structure({"model": {"num_classes": value}}, Root, where="recipe")
    assert str(info.value) == f"recipe.model.num_classes: {expected}"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("max_epochs", "5", "trainer.max_epochs: expected int, got str '5'"),
        ("lr", "0.1", "trainer.lr: expected float, got str '0.1'"),
        ("lr", False, "trainer.lr: expected float, got bool False"),
        ("run_name", 5, "trainer.run_name: expected str, got int 5"),
        ("tag", 5, "trainer.tag: expected str, got int 5"),
    ],
)
def test_wrong_scalar_types(key: str, value: Any, expected: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(expected)):
        cfg.structure({"model": {"num_classes": 1}, "trainer": {key: value}}, Root)


def test_bool_field_refuses_1() -> None:
    @attrs.frozen
    class Flags:
        on: bool = cfg.field(False, help="Switch.")

    with pytest.raises(ConfigError, match=r"^flags\.on: expected bool, got int 1$"):
        cfg.structure({"on": 1}, Flags, where="flags")
    with pytest.raises(ConfigError, match=r"expected bool, got str 'yes'"):
        cfg.structure({"on": "yes"}, Flags)


def test_missing_required_field_names_path_and_type() -> None:
    with pytest.raises(ConfigError, match=r"^model\.num_classes: required field missing \(expected int\)$"):
        cfg.structure({"model": {}}, Root)
    with pytest.raises(ConfigError, match=r"^model: required field missing \(expected Model\)$"):
        cfg.structure({}, Root)


def test_unknown_keys_name_each_full_path_and_the_known_keys() -> None:
    with pytest.raises(ConfigError) as info:
        cfg.structure({"model": {"num_classes": 1, "widht": 3, "depth": 2}}, Root, where="recipe")
    assert str(info.value) == (
        "recipe.model.depth: unknown key (known keys: num_classes, widths); "
        "recipe.model.widht: unknown key (did you mean 'widths'?) (known keys: num_classes, widths)"
    )
    with pytest.raises(ConfigError, match=r"^extra: unknown key \(known keys: model, trainer\)$"):
        cfg.structure({"model": {"num_classes": 1}, "extra": 1}, Root)


def test_every_error_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        cfg.structure({"model": {"num_classes": "3", "widths": [1, "b"]}, "trainer": {"lr": "x"}}, Root)
    msg = str(info.value)
    assert "model.num_classes: expected int, got str '3'" in msg
    assert "model.widths.1: expected int, got str 'b'" in msg
    assert "trainer.lr: expected float, got str 'x'" in msg


def test_shapes_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"^model\.widths: expected a list \(tuple\[int, \.\.\.\]\), got str '8'$"):
        cfg.structure({"model": {"num_classes": 1, "widths": "8"}}, Root)
    with pytest.raises(ConfigError, match=r"^model: expected a table of Model fields, got int 3$"):
        cfg.structure({"model": 3}, Root)
    with pytest.raises(ConfigError, match=r"^<config>: expected a table of Root fields, got list"):
        cfg.structure([1], Root)


@FAST
@given(st.data())
def test_a_wrong_type_anywhere_is_refused_with_its_full_path(data: st.DataObject) -> None:
    cls, values = data.draw(configs())
    path, tp = data.draw(st.sampled_from(leaves(cls)))
    wrong: dict[Any, tuple[Any, str]] = {
        int: ("x", "expected int"),
        float: ("x", "expected float"),
        bool: (1, "expected bool"),
        str: (5, "expected str"),
        list[int]: ({"a": 1}, "expected a list"),
        list[str]: ("ab", "expected a list"),
        tuple[float, ...]: (3, "expected a list"),
        dict[str, int]: ({"k": "v"}, "expected int"),
        Optional[int]: (2.5, "expected int"),  # noqa: UP045
    }
    bad, expected = wrong[tp]
    with pytest.raises(ConfigError) as info:
        cfg.structure(set_path(values, path, bad), cls, where="root")
    assert f"root.{'.'.join(path)}" in str(info.value)
    assert expected in str(info.value)


@FAST
@given(st.data())
def test_a_missing_required_field_anywhere_is_named(data: st.DataObject) -> None:
    cls, values = data.draw(configs())
    required = [(p, t) for p, t in leaves(cls) if _field_at(cls, p).default is attrs.NOTHING]
    if not required:
        return
    path, tp = data.draw(st.sampled_from(required))
    node = json.loads(json.dumps(values))
    parent = node
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    with pytest.raises(ConfigError, match=re.escape(f"{'.'.join(path)}: required field missing (expected")):
        cfg.structure(node, cls)


def _field_at(cls: type, path: tuple[str, ...]) -> Any:
    for part in path[:-1]:
        cls = attrs.fields_dict(cls)[part].type
    return attrs.fields_dict(cls)[path[-1]]


# -- files ---------------------------------------------------------------------------------
def test_errors_from_files_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "recipe.toml"
    path.write_text('[model]\nnum_classes = "ten"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: model.num_classes: expected int, got str 'ten'")):
        cfg.load(path, Root)
    with pytest.raises(ConfigError, match=re.escape(f"{path}: model.num_classes: expected int, got str 'x'")):
        cfg.load(path, Root, ["model.num_classes=x"])
    assert cfg.load(path, Root, ["model.num_classes=10"]).model.num_classes == 10


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("bad.toml", "[model\nx = 1\n", "invalid TOML"),
        ("bad.json", '{"model": ', "invalid JSON"),
        ("bad.yaml", "model: [1, 2\n", "invalid YAML"),
        ("list.json", "[1, 2]", "the top level must be a table/mapping, got list"),
        ("bad.ini", "[x]", "unknown config format '.ini'"),
    ],
)
def test_unreadable_files_are_named(tmp_path: Path, name: str, text: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        cfg.load_file(path)
    # Parser errors name the file, line and column (file:line:column: ...); the others the file.
    assert re.match(rf"{re.escape(str(path))}(:\d+:\d+)?: ", str(info.value))
    assert needle in str(info.value)


def test_parse_errors_give_the_position(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("a = 1\nb = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c\.toml:2:5: invalid TOML: Invalid value: b =$"):
        cfg.load_file(path)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such config file"):
        cfg.load_file(tmp_path / "absent.yaml")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match=r"bin\.json: not UTF-8 text"):
        cfg.load_file(tmp_path / "bin.json")


def test_empty_yaml_is_an_empty_table(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text("", encoding="utf-8")
    assert cfg.load_file(tmp_path / "e.yaml") == {}


def test_describe_lists_types_defaults_and_help() -> None:
    fields = {f.name: f for f in cfg.describe(Model, {"widths": [4]})}
    assert fields["num_classes"] == cfg.FieldInfo("num_classes", "int", None, True, "Classes.")
    assert fields["widths"] == cfg.FieldInfo("widths", "tuple[int, ...]", [4], False, "Hidden widths.")
    trainer = {f.name: f for f in cfg.describe(Root)}["trainer"]
    assert trainer.default == {"max_epochs": 10, "lr": 0.1, "run_name": "run", "tag": None}
