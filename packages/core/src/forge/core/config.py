"""Typed configuration: attrs classes, one cattrs converter, files and dotted overrides.

Every component's configuration is a frozen attrs class whose fields carry a help text::

    @attrs.frozen
    class MLPConfig:
        hidden: int = field(128, help="Width of each hidden layer.")

:data:`converter` turns plain data (parsed from TOML, YAML or JSON, plus ``a.b=1`` overrides from
the command line) into such classes and back. It is strict: unknown keys, wrong types and missing
required fields raise :class:`~forge.core.errors.ConfigError` naming the full key path and the
expected type. ``unstructure(structure(d, C)) == d`` for any valid ``d`` holding every field, so a
resolved configuration written out and read back gives the same object.

This module never imports torch, so listing components stays fast.
"""

from __future__ import annotations

import json
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping, MutableMapping, MutableSequence, MutableSet, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, TypeVar

import attrs
import cattrs
import cattrs.gen
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from forge.core._atomic import write_text
from forge.core.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "FieldInfo",
    "converter",
    "describe",
    "dump",
    "dumps",
    "field",
    "load",
    "load_file",
    "loads",
    "apply_overrides",
    "parse_override",
    "structure",
    "unstructure",
]

T = TypeVar("T")
_FORMATS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}


def field(
    default: Any = attrs.NOTHING,
    *,
    help: str,
    factory: Callable[[], Any] | None = None,
    validator: Any = None,
    converter: Any = None,
) -> Any:
    """Declare a config field with a help text (what ``forge info`` shows).

    Args:
        default: The default value; leave it out for a required field.
        help: One sentence saying what the field does.
        factory: Builds a fresh mutable default (instead of ``default``).
        validator: An attrs validator (or list of them).
        converter: An attrs converter.

    Returns:
        An attrs field definition.
    """
    if factory is not None:
        return attrs.field(factory=factory, validator=validator, converter=converter, metadata={"help": help})
    return attrs.field(default=default, validator=validator, converter=converter, metadata={"help": help})


def _strict(expected: type, accept: tuple[type, ...], reject: tuple[type, ...] = ()) -> Callable[[Any, type], Any]:
    def hook(value: Any, _: type) -> Any:
        if isinstance(value, reject) or not isinstance(value, accept):
            raise TypeError(f"expected {expected.__name__}, got {type(value).__name__} {value!r}")
        return expected(value)

    return hook


def _is_tuple_type(tp: Any) -> bool:
    return tp is tuple or typing.get_origin(tp) is tuple


_COLLECTIONS = (list, tuple, set, frozenset, Sequence, MutableSequence, AbstractSet, MutableSet)


def _is_tuple(tp: Any) -> bool:
    origin: Any = typing.get_origin(tp) or tp
    return origin is tuple


def _is_collection(tp: Any) -> bool:
    return (typing.get_origin(tp) or tp) in _COLLECTIONS


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    # cattrs would happily call int("5") or int(5.7); a config must say what it means.
    conv.register_structure_hook(int, _strict(int, (int,), (bool,)))
    conv.register_structure_hook(float, _strict(float, (int, float), (bool,)))
    conv.register_structure_hook(bool, _strict(bool, (bool,)))
    conv.register_structure_hook(str, _strict(str, (str,)))

    def structure_path(value: Any, _: type) -> Path:
        if not isinstance(value, (str, Path)):
            raise TypeError(f"expected a path string, got {type(value).__name__} {value!r}")
        return Path(value)

    conv.register_structure_hook(Path, structure_path)
    conv.register_unstructure_hook(Path, str)
    # Tuples are written as lists in every file format; read them back as tuples.
    conv.register_unstructure_hook_func(_is_tuple, lambda v: list(v))
    conv.register_unstructure_hook(frozenset, lambda v: sorted(v))

    # Shape checks run before cattrs' own hooks: cattrs would read the string "abc" given for a
    # list[str] as ["a", "b", "c"], and report an int given for a nested table as "not iterable".
    def attrs_factory(cl: Any) -> Callable[[Any, Any], Any]:
        inner = cattrs.gen.make_dict_structure_fn(cl, conv)

        def hook(value: Any, t: Any) -> Any:
            if not isinstance(value, Mapping):
                raise TypeError(f"expected a table of {cl.__name__} fields, got {type(value).__name__} {value!r}")
            return inner(value, t)

        return hook

    conv.register_structure_hook_factory(attrs.has, attrs_factory)
    # `plain` holds cattrs' own collection hooks (get_structure_hook needs cattrs >= 24.1) for the
    # checked hooks below to delegate to; fields of attrs classes still go through `conv`.
    plain = conv.copy()

    def collection_factory(tp: Any) -> Callable[[Any, Any], Any]:
        inner = plain.get_structure_hook(tp)
        name = _type_name(tp)

        def hook(value: Any, t: Any) -> Any:
            if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
                raise TypeError(f"expected a list ({name}), got {type(value).__name__} {value!r}")
            return inner(value, t)

        return hook

    conv.register_structure_hook_factory(_is_collection, collection_factory)
    return conv


converter: cattrs.Converter = _make_converter()
"""The one cattrs converter forge uses for every config class."""


_UNKNOWN = "\x00unknown\x00"  # marks an unknown-keys message so its path can name each key


def _format_cattrs_error(exc: BaseException, where: str) -> str:
    root = where or "<config>"
    lines: list[str] = []
    for message in cattrs.transform_error(exc, path="$", format_exception=_describe_exception):
        text, _, path = message.rpartition(" @ ")
        key = path[2:] if path.startswith("$.") else ("" if path == "$" else path[1:])
        key = key.replace("[", ".").replace("]", "").replace("'", "")
        full = f"{where}.{key}" if where and key else (key or root)
        if text.startswith(_UNKNOWN):
            # cattrs reports unknown keys at their table; the user needs the path of each key.
            names, _, allowed = text[len(_UNKNOWN) :].partition(_UNKNOWN)
            prefix = "" if full == "<config>" else f"{full}."
            lines.extend(f"{prefix}{name}: unknown key{allowed}" for name in names.split(","))
            continue
        lines.append(f"{full}: {text}")
    return "; ".join(lines)


def _describe_exception(exc: BaseException, type_: Any) -> str:
    tname = _type_name(type_) if type_ is not None else "value"
    if isinstance(exc, KeyError):
        return f"required field missing (expected {tname})"
    if isinstance(exc, ForbiddenExtraKeysError):
        allowed = ""
        cl = exc.cl
        if attrs.has(cl):
            allowed = f" (known keys: {', '.join(a.name for a in attrs.fields(cl))})"
        return f"{_UNKNOWN}{','.join(sorted(exc.extra_fields))}{_UNKNOWN}{allowed}"
    msg = str(exc)
    if isinstance(exc, (TypeError, ValueError)) and msg.startswith("expected"):
        return msg
    return f"invalid value for {tname}: {msg}"


def _type_name(tp: Any) -> str:
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    text = repr(tp).replace("typing.", "")
    return re.sub(r"<class '([\w.]+)'>", lambda m: m.group(1).rsplit(".", 1)[-1], text)


def structure(data: Any, cls: type[T], *, where: str = "") -> T:
    """Build a config object of type ``cls`` from plain data, strictly.

    Args:
        data: A mapping as read from a file or built from overrides.
        cls: The attrs config class.
        where: The key path of ``data`` inside a larger config (for error messages), e.g. ``"model"``.

    Returns:
        The config object.

    Raises:
        ConfigError: naming each bad key path and what was expected there.
    """
    if attrs.has(cls) and not isinstance(data, Mapping):
        raise ConfigError(
            f"{where or '<config>'}: expected a table of {cls.__name__} fields, got {type(data).__name__}"
        )
    try:
        attrs.resolve_types(cls) if attrs.has(cls) else None
        return converter.structure(data, cls)
    except (ClassValidationError, IterableValidationError, ForbiddenExtraKeysError) as exc:
        raise ConfigError(_format_cattrs_error(exc, where)) from None
    except (TypeError, ValueError, KeyError) as exc:
        raise ConfigError(f"{where or '<config>'}: {exc}") from None


def unstructure(obj: Any) -> Any:
    """Turn a config object into plain data (dicts, lists, str, int, float, bool, None)."""
    return converter.unstructure(obj)


@attrs.frozen
class FieldInfo:
    """One config field, as ``forge info`` shows it."""

    name: str
    type: str
    default: Any
    required: bool
    help: str


def describe(cls: type, defaults: Mapping[str, Any] | None = None) -> list[FieldInfo]:
    """List the fields of config class ``cls`` with types, defaults and help texts.

    Args:
        cls: An attrs config class.
        defaults: Registered defaults that replace the class defaults (as a registry spec holds).
    """
    attrs.resolve_types(cls)
    out = []
    for a in attrs.fields(cls):
        required = a.default is attrs.NOTHING
        if defaults and a.name in defaults:
            default, required = defaults[a.name], False
        elif isinstance(a.default, attrs.Factory):  # type: ignore[arg-type]  # Factory is a class at runtime
            default = unstructure(a.default.factory())
        else:
            default = None if required else unstructure(a.default)
        out.append(FieldInfo(a.name, _type_name(a.type), default, required, str(a.metadata.get("help", ""))))
    return out


def load_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML, YAML or JSON file into a dict.

    Raises:
        ConfigError: the file is missing, has an unknown suffix, or does not parse (with the position).
    """
    p = Path(path)
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ConfigError(f"{p}: unknown config format {p.suffix!r}; use .toml, .yaml, .yml or .json")
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return loads(text, fmt, source=str(p))


def loads(text: str, fmt: str, *, source: str = "<string>") -> dict[str, Any]:
    """Parse config text in format ``fmt`` ("toml", "yaml" or "json")."""
    try:
        if fmt == "toml":
            data: Any = tomllib.loads(text)
        elif fmt == "json":
            data = json.loads(text)
        elif fmt == "yaml":
            import yaml

            data = yaml.safe_load(text)
            data = {} if data is None else data
        else:
            raise ConfigError(f"{source}: unknown config format {fmt!r}")
    except ConfigError:
        raise
    except Exception as exc:  # each parser has its own error type; all mean "does not parse"
        raise ConfigError(f"{source}: invalid {fmt.upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a table/mapping, got {type(data).__name__}")
    return data


def _drop_none(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def dumps(obj: Any, fmt: str = "toml") -> str:
    """Serialize a config object or plain mapping to TOML, YAML or JSON text.

    TOML has no null: keys whose value is None are left out, so they read back as their default.
    """
    data = obj if isinstance(obj, Mapping) else unstructure(obj)
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=False) + "\n"
    if fmt == "yaml":
        return _yaml_dumps(data)
    if fmt == "toml":
        import tomli_w

        return tomli_w.dumps(_drop_none(data))
    raise ConfigError(f"unknown config format {fmt!r}; use toml, yaml or json")


_YAML_BREAKS = ("\x85", "\u2028", "\u2029")


def _yaml_dumps(data: Any) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        # PyYAML writes NEL and the Unicode line/paragraph separators raw in plain and single-quoted
        # scalars, and its reader folds them into spaces; only double quotes escape them.
        style = '"' if any(ch in value for ch in _YAML_BREAKS) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, represent_str)
    return str(yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True))


def dump(obj: Any, path: str | Path) -> Path:
    """Write a config object or mapping to ``path`` (format from its suffix), atomically."""
    p = Path(path)
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ConfigError(f"{p}: unknown config format {p.suffix!r}; use .toml, .yaml, .yml or .json")
    return write_text(p, dumps(obj, fmt))


_KEY = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_0-9][\w-]*)*$")


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"a.b.c=value"`` into its key path and a typed value.

    The value is read as a YAML scalar or flow collection, so ``5`` is an int, ``0.1`` a float,
    ``true`` a bool, ``[1, 2]`` a list, ``null`` None, and anything else a string.

    Raises:
        ConfigError: the text has no ``=`` or the key is not a dotted name.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not _KEY.match(key):
        raise ConfigError(f"override {text!r}: expected KEY.PATH=VALUE, e.g. trainer.max_epochs=5")
    import yaml

    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str) and re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+", raw.strip()):
        value = float(raw)  # YAML 1.1 reads 1e-3 as a string; people mean a float
    return key.split("."), value


def _field_type(cls: Any, path: list[str]) -> Any:
    """The declared type at ``path`` inside attrs class ``cls``, or None when unknown."""
    tp: Any = cls
    for part in path:
        tp = _strip_optional(tp)
        if not (isinstance(tp, type) and attrs.has(tp)):
            return None
        attrs.resolve_types(tp)
        match = [a for a in attrs.fields(tp) if a.name == part]
        if not match:
            return None
        tp = match[0].type
    return tp


def _strip_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str], cls: type | None = None) -> dict[str, Any]:
    """Return a deep copy of ``data`` with dotted ``KEY=VALUE`` overrides applied.

    Args:
        data: The config as plain data.
        overrides: Texts like ``"trainer.max_epochs=5"``.
        cls: The config class ``data`` describes; when given, a value for a ``str`` field is kept
            as written (``name=123`` stays ``"123"``) instead of being read as YAML.

    Raises:
        ConfigError: an override is malformed, or would descend into a non-table value.
    """
    out: dict[str, Any] = json.loads(json.dumps(data, default=str))
    for text in overrides:
        path, value = parse_override(text)
        if cls is not None and _strip_optional(_field_type(cls, path)) is str:
            value = text.partition("=")[2]
        node: MutableMapping[str, Any] = out
        for i, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, MutableMapping):
                where = ".".join(path[: i + 1])
                raise ConfigError(f"override {text!r}: {where} is a {type(child).__name__}, not a table")
            node = child
        node[path[-1]] = value
    return out


def load(path: str | Path, cls: type[T], overrides: Iterable[str] = (), *, where: str = "") -> T:
    """Read config file ``path``, apply dotted ``overrides`` and build a ``cls`` object from it.

    Args:
        path: A ``.toml``, ``.yaml``/``.yml`` or ``.json`` file.
        cls: The attrs config class the file describes.
        overrides: Texts like ``"trainer.max_epochs=5"``, applied after the file.
        where: The key path of the file's content inside a larger config, for error messages.

    Returns:
        The config object.

    Raises:
        ConfigError: the file is unreadable or invalid; the message starts with the file's path,
            then names the key path and the expected type.
    """
    data = apply_overrides(load_file(path), overrides, cls)
    try:
        return structure(data, cls, where=where)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
