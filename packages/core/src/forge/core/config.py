"""Typed configuration: attrs classes, one cattrs converter, files and dotted overrides.

Every component's configuration is a frozen attrs class whose fields carry a help text and
declare their constraint (checked whenever the config is built, see :func:`field`)::

    @attrs.frozen
    class MLPConfig:
        hidden: int = field(128, help="Width of each hidden layer.", gt=0)

:data:`converter` turns plain data (parsed from TOML, YAML or JSON, plus ``a.b=1`` overrides from
the command line) into such classes and back. It is strict: unknown keys, wrong types and missing
required fields raise :class:`~forge.core.errors.ConfigError` naming the full key path and the
expected type. ``unstructure(structure(d, C)) == d`` for any valid ``d`` holding every field, so a
resolved configuration written out and read back gives the same object. Float fields never take
NaN or infinity. Override values are read by the declared type of the field they set
(:func:`read_value`); files are size-capped, YAML is read with the YAML 1.2 core schema and capped
aliases, and a key repeated in one table is refused in every format.

This module never imports torch, so listing components stays fast.
"""

from __future__ import annotations

import difflib
import json
import math
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
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)

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
    "did_you_mean",
    "Constraint",
    "ConstraintViolation",
    "load",
    "load_file",
    "loads",
    "apply_overrides",
    "parse_override",
    "read_value",
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
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    one_of: Iterable[Any] | None = None,
    non_empty: bool = False,
) -> Any:
    """Declare a config field with a help text (what ``forge info`` shows) and its constraints.

    The constraints are declared, not coded: they are checked whenever the config is built
    (:func:`structure`, so before anything runs), and a value breaking one is refused with the
    field's key path, the value and what was expected (``optimizer.lr: expected a number > 0, got
    -1.0``). ``None`` passes every constraint (it means "not set" for optional fields). For a
    list or tuple field the bounds and ``one_of`` apply to each item (``input_shape`` with
    ``gt=0`` needs every dimension above 0). Float fields never accept NaN or infinity; that needs
    no declaration.

    Args:
        default: The default value; leave it out for a required field.
        help: One sentence saying what the field does.
        factory: Builds a fresh mutable default (instead of ``default``).
        validator: An attrs validator (or list of them), for rules the keywords below cannot say.
        converter: An attrs converter.
        gt, ge, lt, le: Bounds: greater than, at least, less than, at most.
        one_of: The allowed values.
        non_empty: A string, list or table must not be empty.

    Returns:
        An attrs field definition.

    Example::

        lr: float = field(1e-3, help="Peak learning rate.", gt=0)
        reduction: str = field("mean", help="How losses combine.", one_of=("mean", "sum"))
    """
    constraint = Constraint(
        gt=gt, ge=ge, lt=lt, le=le, one_of=tuple(one_of) if one_of is not None else None, non_empty=non_empty
    )
    metadata: dict[str, Any] = {"help": help}
    validators: list[Any] = []
    if constraint.active:
        metadata["constraint"] = constraint
        validators.append(constraint)
    if validator is not None:
        validators.extend(validator if isinstance(validator, (list, tuple)) else [validator])
    combined = validators[0] if len(validators) == 1 else (validators or None)
    if factory is not None:
        return attrs.field(factory=factory, validator=combined, converter=converter, metadata=metadata)
    return attrs.field(default=default, validator=combined, converter=converter, metadata=metadata)


class ConstraintViolation(ConfigError):
    """A value broke the constraint declared on its field (:func:`field`).

    Attributes:
        name: The field.
        text: What was expected and what was given (``"expected a number > 0, got -1"``).
    """

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}")
        self.name = name
        self.text = text


@attrs.frozen
class Constraint:
    """A field's declared constraint; an attrs validator raising :class:`ConstraintViolation`.

    Attributes:
        gt, ge, lt, le: Bounds (None: no bound).
        one_of: The allowed values (None: any).
        non_empty: Strings, lists and tables must not be empty.
    """

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    one_of: tuple[Any, ...] | None = None
    non_empty: bool = False

    @property
    def active(self) -> bool:
        """Whether anything is constrained."""
        return self != Constraint()

    def describe(self) -> str:
        """What a valid value is, in words: ``"a number > 0 and <= 1"``."""
        parts = [f"{op} {_number(bound)}" for op, bound in self._bounds()]
        text = ""
        if parts:
            text = "a number " + " and ".join(parts)
        if self.one_of is not None:
            text = "one of " + ", ".join(repr(o) for o in self.one_of)
        if self.non_empty:
            text = f"non-empty{' (' + text + ')' if text else ''}"
        return text

    def _bounds(self) -> list[tuple[str, float]]:
        pairs = (("> ", self.gt), (">= ", self.ge), ("< ", self.lt), ("<= ", self.le))
        return [(op.strip(), bound) for op, bound in pairs if bound is not None]

    def _item_ok(self, item: Any) -> bool:
        if self.one_of is not None and item not in self.one_of:
            return False
        bounds = self._bounds()
        if not bounds:
            return True
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            return False
        number = float(item)
        checks: dict[str, Callable[[float], bool]] = {
            ">": lambda b: number > b,
            ">=": lambda b: number >= b,
            "<": lambda b: number < b,
            "<=": lambda b: number <= b,
        }
        return all(checks[op](bound) for op, bound in bounds)

    def __call__(self, _inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        shown = list(value) if isinstance(value, tuple) else value  # as the config file wrote it
        if self.non_empty and isinstance(value, (str, list, tuple, dict, set, frozenset)) and not value:
            raise ConstraintViolation(attribute.name, f"expected {self.describe()}, got {shown!r}")
        if isinstance(value, (list, tuple, set, frozenset)):
            for i, item in enumerate(value):
                if item is not None and not self._item_ok(item):
                    what = self.describe().removeprefix("non-empty (").removesuffix(")")
                    raise ConstraintViolation(
                        attribute.name, f"expected each item to be {what}, got {item!r} at index {i} of {shown!r}"
                    )
            return
        if isinstance(value, (str, int, float)) and not self._item_ok(value):
            raise ConstraintViolation(attribute.name, f"expected {self.describe()}, got {value!r}")


def _number(value: float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _strict(expected: type, accept: tuple[type, ...], reject: tuple[type, ...] = ()) -> Callable[[Any, type], Any]:
    def hook(value: Any, _: type) -> Any:
        if isinstance(value, reject) or not isinstance(value, accept):
            raise TypeError(f"expected {expected.__name__}, got {type(value).__name__} {value!r}")
        return expected(value)

    return hook


def _structure_float(value: Any, _: type) -> float:
    # A config float is a quantity a run uses: NaN and infinity only ever surface later, as a
    # non-finite loss after training started, so they are refused here.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected float, got {type(value).__name__} {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"expected a finite number, got {value!r} (too large for a float)") from None
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def _is_literal(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Literal


def _structure_literal(value: Any, tp: Any) -> Any:
    options = typing.get_args(tp)
    for option in options:
        if value == option and type(value) is type(option):
            return option
    shown = ", ".join(repr(o) for o in options)
    hint = did_you_mean(str(value), [str(o) for o in options]) if isinstance(value, str) else ""
    raise ValueError(f"expected one of {shown}, got {value!r}{hint}")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'lr'?)"`` for the choice closest to ``word``, or ``""`` when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _strict(bool, (bool,)))
    conv.register_structure_hook(str, _strict(str, (str,)))

    def structure_path(value: Any, _: type) -> Path:
        if not isinstance(value, (str, Path)):
            raise TypeError(f"expected a path string, got {type(value).__name__} {value!r}")
        return Path(value)

    conv.register_structure_hook(Path, structure_path)
    conv.register_structure_hook_func(_is_literal, _structure_literal)
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
            try:
                return inner(value, t)
            except ClassValidationError as exc:
                # Sub-exceptions without an attribute note come from cl's own __init__ (a field
                # validator or a cross-field check): find the field, for the key path.
                if any(_from_attribute(sub) for sub in exc.exceptions):
                    raise
                located = _locate_invalid_field(cl, inner, value, t, exc.exceptions[0])
                if located is exc.exceptions[0]:
                    raise
                raise located from None

        return hook

    conv.register_structure_hook_factory(attrs.has, attrs_factory)
    # `plain` holds cattrs' own collection hooks (get_structure_hook needs cattrs >= 24.1) for the
    # checked hooks below to delegate to; fields of attrs classes still go through `conv`.
    plain = conv.copy()

    def collection_factory(tp: Any) -> Callable[[Any, Any], Any]:
        inner = plain.get_structure_hook(tp)
        name = _type_name(tp)

        args = typing.get_args(tp)
        fixed = len(args) if _is_tuple(tp) and args and args[-1] is not Ellipsis else None

        def hook(value: Any, t: Any) -> Any:
            if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
                raise TypeError(f"expected a list ({name}), got {type(value).__name__} {value!r}")
            if fixed is not None and isinstance(value, (list, tuple)) and len(value) != fixed:
                raise ValueError(f"expected a list of {fixed} items ({name}), got {len(value)}: {value!r}")
            return inner(value, t)

        return hook

    conv.register_structure_hook_factory(_is_collection, collection_factory)
    return conv


converter: cattrs.Converter = _make_converter()
"""The one cattrs converter forge uses for every config class."""


_UNKNOWN = "\x00unknown\x00"  # marks an unknown-keys message so its path can name each key
_FIELD = "\x00field\x00"  # marks a field-validator message so its path can name the field


class _FieldError(ValueError):
    """A validator of one field failed while its class was built; cattrs puts the class's path on it."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}")
        self.name = name
        self.text = text


def _validator_text(name: str, exc: BaseException) -> str:
    """What a failed validator says, as "expected ..., got ..." where it can be phrased so."""
    if isinstance(exc, ConstraintViolation):
        return exc.text
    args = exc.args
    # attrs' own validators: in_ passes (msg, attribute, options, value); gt/ge/lt/le say "'x' must be > 0: -1".
    if len(args) == 4 and isinstance(args[1], attrs.Attribute):
        options, value = args[2], args[3]
        shown = (
            ", ".join(repr(o) for o in options) if isinstance(options, (list, tuple, set, frozenset)) else repr(options)
        )
        hint = (
            did_you_mean(value, [str(o) for o in options])
            if isinstance(value, str) and isinstance(options, (list, tuple))
            else ""
        )
        return f"expected one of {shown}, got {value!r}{hint}"
    text = str(exc).removeprefix(f"{name}: ")
    match = re.fullmatch(rf"'?{re.escape(name)}'? must be (.+?): (.+)", text, flags=re.S)
    if match:
        return f"expected a value {match.group(1)}, got {match.group(2)}"
    match = re.fullmatch(rf"'?{re.escape(name)}'? (must .+)", text, flags=re.S)
    if match:
        return match.group(1)
    return text


def _from_attribute(exc: BaseException) -> bool:
    return any(isinstance(note, AttributeValidationNote) for note in getattr(exc, "__notes__", ()))


def _locate_invalid_field(
    cl: Any, inner: Callable[[Any, Any], Any], value: Any, t: Any, exc: BaseException
) -> BaseException:
    """Turn an exception raised while building ``cl`` into a :class:`_FieldError` naming the field.

    The class is built again with validators off, then each field's validator is run alone on its
    value; a failure that belongs to no single field (a cross-field check) is returned unchanged.
    """
    if isinstance(exc, ConstraintViolation):  # a declared constraint knows its field
        return _FieldError(exc.name, exc.text)
    was = attrs.validators.get_disabled()
    attrs.validators.set_disabled(True)
    try:
        obj = inner(value, t)
    except Exception:  # a cross-field check fails too: name the field the validator's message names
        names = {a.name for a in attrs.fields(cl)}
        args = exc.args
        if len(args) == 4 and isinstance(args[1], attrs.Attribute) and args[1].name in names:
            return _FieldError(args[1].name, _validator_text(args[1].name, exc))
        match = re.match(r"^'?(\w+)'? must", str(exc))
        if match and match.group(1) in names:
            return _FieldError(match.group(1), _validator_text(match.group(1), exc))
        return exc
    finally:
        attrs.validators.set_disabled(was)
    for a in attrs.fields(cl):
        if a.validator is None:
            continue
        try:
            a.validator(obj, a, getattr(obj, a.name))
        except (TypeError, ValueError) as field_exc:
            return _FieldError(a.name, _validator_text(a.name, field_exc))
    return exc


def _format_cattrs_error(exc: BaseException, where: str) -> str:
    root = where or "<config>"
    lines: list[str] = []
    for message in cattrs.transform_error(exc, path="$", format_exception=_describe_exception):
        text, _, path = message.rpartition(" @ ")
        key = path[2:] if path.startswith("$.") else ("" if path == "$" else path[1:])
        key = key.replace("[", ".").replace("]", "").replace("'", "")
        full = f"{where}.{key}" if where and key else (key or root)
        if text.startswith(_FIELD):
            name, _, text = text[len(_FIELD) :].partition(_FIELD)
            full = f"{full}.{name}" if full != "<config>" else name
            lines.append(f"{full}: {text}")
            continue
        if text.startswith(_UNKNOWN):
            # cattrs reports unknown keys at their table; the user needs the path of each key.
            names, _, allowed = text[len(_UNKNOWN) :].partition(_UNKNOWN)
            prefix = "" if full == "<config>" else f"{full}."
            for entry in names.split(","):
                name, _, hint = entry.partition(" (did you mean")
                hint = f" (did you mean{hint}" if hint else ""
                lines.append(f"{prefix}{name}: unknown key{hint}{allowed}")
            continue
        lines.append(f"{full}: {text}")
    return "; ".join(lines)


def _describe_exception(exc: BaseException, type_: Any) -> str:
    tname = _type_name(type_) if type_ is not None else "value"
    if isinstance(exc, KeyError):
        return f"required field missing (expected {tname})"
    if isinstance(exc, ForbiddenExtraKeysError):
        cl = exc.cl
        known = [a.name for a in attrs.fields(cl)] if attrs.has(cl) else []
        extra = sorted(exc.extra_fields)
        # One marker per key keeps each key's own did-you-mean hint.
        hints = [did_you_mean(k, known) for k in extra]
        allowed = f" (known keys: {', '.join(known)})" if known else ""
        return f"{_UNKNOWN}{','.join(k + h for k, h in zip(extra, hints, strict=True))}{_UNKNOWN}{allowed}"
    if isinstance(exc, _FieldError):
        return f"{_FIELD}{exc.name}{_FIELD}{exc.text}"
    msg = str(exc)
    if isinstance(exc, (TypeError, ValueError)) and msg.startswith("expected"):
        return msg
    if type_ is None:
        return msg
    return f"invalid {tname}: {msg}"


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
    except _FieldError as exc:
        raise ConfigError(f"{where}.{exc.name}: {exc.text}" if where else f"{exc.name}: {exc.text}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # AttributeError/TypeError: a __attrs_post_init__ cross-field check meeting odd values.
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
    constraint: str = ""
    """The declared constraint in words (``"a number > 0"``), empty when none is declared."""


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
        constraint = a.metadata.get("constraint")
        text = constraint.describe() if isinstance(constraint, Constraint) else ""
        if text and _is_collection(_strip_optional(a.type)):
            text = _each_item(constraint, text)
        out.append(FieldInfo(a.name, _type_name(a.type), default, required, str(a.metadata.get("help", "")), text))
    return out


def _each_item(constraint: Constraint, text: str) -> str:
    """A list field's constraint in words: the bounds and choices hold for each item."""
    item = attrs.evolve(constraint, non_empty=False).describe()
    if not item:
        return text
    return f"non-empty, each item {item}" if constraint.non_empty else f"each item {item}"


MAX_CONFIG_BYTES = 1 << 20
"""A config or recipe file larger than this (1 MiB) is refused before it is parsed."""

MAX_YAML_ALIASES = 100
"""Alias (``*name``) uses a YAML config may hold; recipes need few, a "billion laughs" file needs many."""

MAX_YAML_NODES = 100_000
"""Values a YAML config may expand to once its aliases are followed."""


def load_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML, YAML or JSON file into a dict.

    Raises:
        ConfigError: the file is missing, larger than :data:`MAX_CONFIG_BYTES`, has an unknown
            suffix, does not parse (with its line and column), or repeats a key.
    """
    p = Path(path)
    fmt = _FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ConfigError(f"{p}: unknown config format {p.suffix!r}; use .toml, .yaml, .yml or .json")
    try:
        size = p.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{p}: {size} bytes, larger than a config file may be ({MAX_CONFIG_BYTES} bytes)")
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory, not a config file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the config file ({exc.strerror or exc})") from None
    return loads(text, fmt, source=str(p))


def loads(text: str, fmt: str, *, source: str = "<string>") -> dict[str, Any]:
    """Parse config text in format ``fmt`` ("toml", "yaml" or "json").

    YAML is read with the YAML 1.2 core schema (``yes``/``no``/``on`` stay strings, ``010`` is ten,
    ``1e-3`` is a float), with :data:`MAX_YAML_ALIASES` and :data:`MAX_YAML_NODES` capping aliases.

    Raises:
        ConfigError: the text does not parse (``source:line:column: ...``), repeats a key in one
            table (naming the key), or is not a table at the top level.
    """
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: {len(text)} characters, larger than a config may be ({MAX_CONFIG_BYTES})")
    if fmt == "toml":
        data: Any = _loads_toml(text, source)
    elif fmt == "json":
        data = _loads_json(text, source)
    elif fmt == "yaml":
        data = _loads_yaml(text, source)
    else:
        raise ConfigError(f"{source}: unknown config format {fmt!r}")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a table/mapping, got {type(data).__name__}")
    return data


def _loads_json(text: str, source: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise _DuplicateKey(key)
            out[key] = value
        return out

    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except _DuplicateKey as exc:
        # json does not say where the hook was called: find the repeated key's second occurrence.
        line, column = _second_occurrence(text, json.dumps(exc.key))
        raise ConfigError(
            f"{source}:{line}:{column}: duplicate key {exc.key!r} (each key may appear once per table)"
        ) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"{source}: invalid JSON: {exc}") from None


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _second_occurrence(text: str, needle: str) -> tuple[int, int]:
    first = text.find(needle)
    at = text.find(needle, first + 1) if first >= 0 else -1
    at = at if at >= 0 else max(first, 0)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


_TOML_POSITION = re.compile(r"^(?P<msg>.*?) \(at line (?P<line>\d+), column (?P<col>\d+)\)$", re.S)
_TOML_DUPLICATE = ("Cannot overwrite a value", "Cannot declare", "Cannot mutate")


def _loads_toml(text: str, source: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.match(message)
        if match is None:
            where = f"{source}:{text.count(chr(10)) + 1}:1" if "end of document" in message else source
            raise ConfigError(f"{where}: invalid TOML: {message}") from None
        line, col, msg = int(match["line"]), int(match["col"]), match["msg"]
        lines = text.splitlines()
        shown = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        if msg.startswith(_TOML_DUPLICATE):
            key = re.match(r"^\s*\[*\s*([^=\]]+?)\s*(\]|=)", shown)
            name = key.group(1) if key else shown
            raise ConfigError(
                f"{source}:{line}:{col}: duplicate key {name!r} (each key or table may be defined once): {shown}"
            ) from None
        raise ConfigError(f"{source}:{line}:{col}: invalid TOML: {msg}" + (f": {shown}" if shown else "")) from None
    except RecursionError:
        raise ConfigError(f"{source}: invalid TOML: nested too deeply") from None


def _loads_yaml(text: str, source: str) -> Any:
    import yaml

    try:
        loader = _yaml_loader_class()(text)
        loader.name = source  # messages (duplicate keys) name the file, not "<unicode string>"
        try:
            node = loader.get_single_node()
            if node is None:
                return {}
            _check_yaml_size(node, source)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except ConfigError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise ConfigError(f"{source}: invalid YAML: {exc}") from None


def _check_yaml_size(root: Any, source: str) -> None:
    """Refuse a YAML document whose aliases would expand it beyond :data:`MAX_YAML_NODES` values."""
    import yaml

    sizes: dict[int, int] = {}
    seen_aliases = 0

    def size(node: Any, depth: int) -> int:
        nonlocal seen_aliases
        if id(node) in sizes:
            seen_aliases += 1
            if seen_aliases > MAX_YAML_ALIASES:
                raise ConfigError(
                    f"{source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}: more than "
                    f"{MAX_YAML_ALIASES} YAML alias uses; refusing the file (a YAML bomb?)"
                )
            return sizes[id(node)]
        if depth > 100:
            raise ConfigError(f"{source}:{node.start_mark.line + 1}: YAML nested more than 100 levels deep")
        sizes[id(node)] = 1  # a node that refers to itself counts once
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(v, depth + 1) for v in node.value)
        else:
            total = 1
        if total > MAX_YAML_NODES:
            raise ConfigError(
                f"{source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}: expands to more than "
                f"{MAX_YAML_NODES} values once its aliases are followed; refusing the file (a YAML bomb?)"
            )
        sizes[id(node)] = total
        return total

    size(root, 0)


_YAML_LOADER: Any = None


def _yaml_loader_class() -> Any:
    """A safe YAML loader with the YAML 1.2 core schema that refuses duplicate keys."""
    global _YAML_LOADER
    if _YAML_LOADER is not None:
        return _YAML_LOADER
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {}
    for tag, pattern, first in _YAML12_RESOLVERS:
        Loader.add_implicit_resolver(tag, re.compile(pattern, re.X), list(first))

    def construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
        return _yaml12_int(str(node.value))

    def construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
        return _yaml12_float(str(node.value))

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found an unhashable key", key_node.start_mark
                ) from None
            if key in out:
                mark = key_node.start_mark
                raise ConfigError(
                    f"{loader.name}:{mark.line + 1}:{mark.column + 1}: duplicate key {key!r} "
                    "(each key may appear once per table)"
                )
            out[key] = loader.construct_object(value_node, deep=deep)
        return out

    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Loader.add_constructor("tag:yaml.org,2002:float", construct_float)
    Loader.add_constructor("tag:yaml.org,2002:map", construct_mapping)
    _YAML_LOADER = Loader
    return Loader


# The YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_YAML12_INT = r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
_YAML12_FLOAT = r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
_YAML12_RESOLVERS = (
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", rf"^(?:{_YAML12_INT})$", "-+0123456789"),
    ("tag:yaml.org,2002:float", rf"^(?:{_YAML12_FLOAT})$", "-+0123456789."),
)


def _yaml12_int(text: str) -> int:
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _yaml12_float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return float("-inf") if lowered.startswith("-") else float("inf")
    if lowered == ".nan":
        return float("nan")
    return float(text)


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


def parse_override(text: str, field_type: Any = None) -> tuple[list[str], Any]:
    """Split ``"a.b.c=value"`` into its key path and a value read by the field's type.

    With the declared type of the key known (``field_type``), the value is read by that type: an
    ``int`` field takes decimal digits only (``0x10``, ``0b11`` and ``1_0`` are refused when the
    config is built, not read as 16, 3 and 10), a ``float`` field a decimal number (``1e-3``), a
    ``bool`` field ``true``/``false``, a ``str`` field the text exactly as written; ``null`` gives
    None where the field allows it. Where the type is open (lists, tables, unknown keys), the value
    is read as YAML 1.2 core schema: ``5`` is an int, ``0.1`` a float, ``true`` a bool, ``[1, 2]``
    a list, ``null`` None, ``yes``/``1_0`` stay strings.

    Args:
        text: ``KEY.PATH=VALUE``.
        field_type: The declared type at the key path, or None when unknown.

    Raises:
        ConfigError: the text has no ``=`` or the key is not a dotted name.
    """
    if not isinstance(text, str):
        raise ConfigError(f"override {text!r}: expected a KEY.PATH=VALUE string, got {type(text).__name__}")
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not _KEY.match(key):
        raise ConfigError(f"override {text!r}: expected KEY.PATH=VALUE, e.g. trainer.max_epochs=5")
    return key.split("."), read_value(raw, field_type)


_DECIMAL_INT = re.compile(r"[-+]?[0-9]+")
_DECIMAL_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_NULL = ("null", "Null", "NULL", "~")


def read_value(raw: str, field_type: Any = None) -> Any:
    """Read one override value (the text after ``=``) by the declared ``field_type`` (see :func:`parse_override`).

    A value that does not read as the type is returned as the string it is, so building the
    config refuses it with the key path and the expected type.
    """
    text = raw.strip()
    tp = field_type
    optional = False
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        optional = type(None) in args
        tp = _strip_optional(tp)
    if optional and text in _NULL:
        return None
    if tp is str or (_is_literal(tp) and all(isinstance(a, str) for a in typing.get_args(tp))):
        return raw
    if tp is int:
        return int(text) if _DECIMAL_INT.fullmatch(text) else raw
    if tp is float:
        if _DECIMAL_FLOAT.fullmatch(text):
            return float(text)
        # inf and nan (also YAML's .inf/.nan) are read, to be refused with "expected a finite number".
        lowered = text.lower()
        word = lowered.lstrip("+-").removeprefix(".")
        if word in ("inf", "infinity"):
            return float("-inf") if lowered.startswith("-") else float("inf")
        return float("nan") if word == "nan" else raw
    if tp is bool:
        return {"true": True, "false": False}.get(text.lower(), raw)
    if not text:
        return ""
    import yaml

    try:
        value = yaml.load(text, Loader=_yaml_loader_class())  # a safe loader subclass (1.2 core schema)
    except (yaml.YAMLError, ConfigError, ValueError, RecursionError):
        return raw
    return raw if isinstance(value, str) else value


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


FieldTypeOf = Callable[[Mapping[str, Any], Sequence[str]], Any]
"""Gives the declared type at a key path of a config (``None`` when unknown), given the config so far."""


def apply_overrides(
    data: Mapping[str, Any],
    overrides: Iterable[str],
    cls: type | None = None,
    *,
    field_type: FieldTypeOf | None = None,
) -> dict[str, Any]:
    """Return a deep copy of ``data`` with dotted ``KEY=VALUE`` overrides applied.

    Args:
        data: The config as plain data.
        overrides: Texts like ``"trainer.max_epochs=5"``.
        cls: The config class ``data`` describes; each value is read by its field's type
            (:func:`parse_override`): ``name=123`` stays ``"123"`` for a ``str`` field,
            ``max_epochs=0x10`` is not read as 16 for an ``int`` field.
        field_type: Instead of ``cls``, a function giving the declared type at a key path (a
            recipe's sections each have their own config class).

    Raises:
        ConfigError: an override is malformed, or would descend into a non-table value.
    """
    out: dict[str, Any] = json.loads(json.dumps(data, default=str))
    for text in overrides:
        path, _ = parse_override(text)
        if cls is not None:
            tp = _field_type(cls, path)
        elif field_type is not None:
            tp = field_type(out, path)
        else:
            tp = None
        _, value = parse_override(text, tp)
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
