"""The conformance kit: checks a plugin's tests run on every component the plugin registers.

    import pytest
    from forge.core.testing import check_component, components_of

    @pytest.mark.parametrize("spec", components_of("acme"), ids=lambda s: s.name)
    def test_component_conforms(spec):
        check_component(spec)

For every component: the config class builds from its registered defaults and round-trips through
cattrs and through TOML, YAML and JSON text. For a model, additionally: it builds from its default
config, the declared example input runs forward and backward with finite gradients reaching its
parameters, and its state dict round-trips through safetensors into a freshly built model that then
gives identical outputs.

:func:`check_light_listing` checks, in a fresh interpreter, that listing and describing a
plugin's components imports neither torch nor the plugin's builder modules: ``python -X importtime``
cannot show this, since forge imports plugins through importlib after start-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from forge.core import config as cfg
from forge.core._plugins import import_object
from forge.core._registry import ComponentSpec, Registry, registry

__all__ = [
    "ConformanceError",
    "check_component",
    "check_config_roundtrip",
    "check_constraints",
    "check_light_listing",
    "check_model",
    "components_of",
    "config_classes",
    "missing_constraints",
]


class ConformanceError(AssertionError):
    """A component does not meet forge's plugin contract; the message names it and the rule."""


def components_of(
    plugin: str, kinds: Iterable[str] | None = None, *, reg: Registry | None = None
) -> list[ComponentSpec]:
    """Every component ``plugin`` registers (optionally only of ``kinds``), for parametrizing tests.

    Raises:
        ConformanceError: the plugin is not installed or did not load (with its recorded error).
    """
    reg = reg or registry
    info = {i.name: i for i in reg.plugins}.get(plugin)
    if info is None:
        raise ConformanceError(f"plugin {plugin!r} is not installed (no entry point in 'forge.plugins')")
    if info.status != "loaded":
        raise ConformanceError(f"plugin {plugin!r} is {info.status}: {info.error}")
    wanted = set(kinds) if kinds is not None else None
    return [s for s in reg.list() if s.provider == plugin and (wanted is None or s.kind in wanted)]


def config_classes(
    provider: str, modules: Iterable[str] = (), *, exclude: Iterable[str] = (), reg: Registry | None = None
) -> list[type]:
    """Every config class of a plugin: its registered components' configs, the attrs classes ``modules``
    export in ``__all__``, and every attrs class those hold in a field (nested configs), sorted by name.

    Args:
        provider: The plugin's name as components record it (``"vision"``).
        modules: Modules whose exported attrs classes count as configs too (configs nobody registers).
        exclude: Class names to leave out (records that are never read from a file).
        reg: The registry to read (forge's global one when None).

    Example::

        for cls in config_classes("acme", ["acme.configs"]):
            assert not missing_constraints(cls)
    """
    import importlib

    import attrs

    reg = reg or registry
    skip = set(exclude)
    found: dict[type, None] = {}
    for spec in reg.list():
        cls = reg.config_class(spec) if spec.provider == provider else None
        if cls is not None:
            found[cls] = None
    for name in modules:
        module = importlib.import_module(name)
        for export in getattr(module, "__all__", ()):
            obj = getattr(module, export)
            if isinstance(obj, type) and attrs.has(obj) and obj.__name__ not in skip:
                found[obj] = None
    queue = list(found)
    while queue:
        cls = queue.pop()
        attrs.resolve_types(cls)
        for a in attrs.fields(cls):
            for leaf in _leaves(a.type):
                if isinstance(leaf, type) and attrs.has(leaf) and leaf not in found:
                    found[leaf] = None
                    queue.append(leaf)
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


def _leaves(tp: Any) -> list[Any]:
    """The types a field's values are made of: Optional, list and tuple items unwrapped."""
    import types
    import typing

    if typing.get_origin(tp) in (typing.Union, types.UnionType, tuple, list):
        return [leaf for arg in typing.get_args(tp) if arg not in (Ellipsis, type(None)) for leaf in _leaves(arg)]
    return [tp]


def _declares_constraint(attribute: Any) -> bool:
    constraint = attribute.metadata.get("constraint")
    return isinstance(constraint, cfg.Constraint) and constraint.active


def missing_constraints(cls: type, allowed: Iterable[str] = ()) -> list[str]:
    """``Class.field`` names of ``cls``'s numeric, string and choice fields that declare no constraint.

    Args:
        cls: An attrs config class.
        allowed: ``Class.field`` names left without a constraint on purpose (keep the reason beside them).
    """
    import typing

    import attrs

    attrs.resolve_types(cls)
    allow = set(allowed)
    return [
        f"{cls.__name__}.{a.name}"
        for a in attrs.fields(cls)
        if any(leaf in (int, float, str) or typing.get_origin(leaf) is typing.Literal for leaf in _leaves(a.type))
        and not _declares_constraint(a)
        and f"{cls.__name__}.{a.name}" not in allow
    ]


def check_constraints(classes: Iterable[type], unconstrained: Mapping[str, str] | None = None) -> None:
    """Check that every numeric, string and choice field of ``classes`` declares its constraint.

    Args:
        classes: Config classes, e.g. :func:`config_classes` of a plugin.
        unconstrained: ``Class.field`` -> the reason it has no constraint (a field any value suits).

    Raises:
        ConformanceError: naming the fields that declare no constraint, and the ``unconstrained``
            entries that name no field, a field with a constraint now, no reason, or a class
            whose name several of ``classes`` share (entries key by class name).

    Example::

        check_constraints(config_classes("acme", ["acme.configs"]), {"PadConfig.value": "any pixel value"})
    """
    import attrs

    classes = list(classes)
    allowed = dict(unconstrained or {})
    names = [c.__name__ for c in classes]
    shared = {n for n in names if names.count(n) > 1}
    problems = [
        f"{key}: ambiguous, several config classes are named {key.split('.')[0]}"
        for key in allowed
        if key.split(".")[0] in shared
    ]
    problems += [f"{f}: declares no constraint" for cls in classes for f in missing_constraints(cls, allowed)]
    fields = {f"{c.__name__}.{a.name}": a for c in classes for a in attrs.fields(c)}
    for key, reason in allowed.items():
        if key not in fields:
            problems.append(f"{key}: listed as unconstrained but is no field")
        elif _declares_constraint(fields[key]):
            problems.append(f"{key}: declares a constraint now; drop it from the unconstrained list")
        elif not reason:
            problems.append(f"{key}: listed as unconstrained without a reason")
    if problems:
        raise ConformanceError(
            "config constraints (declare gt/ge/lt/le/one_of/non_empty with forge.core.config.field, or list the "
            "field as unconstrained with the reason):\n  " + "\n  ".join(problems)
        )


def check_config_roundtrip(spec: ComponentSpec, *, reg: Registry | None = None) -> Any:
    """Build ``spec``'s default config and check it round-trips exactly; returns the config (or None)."""
    reg = reg or registry
    cls = reg.config_class(spec)
    if cls is None or _required_fields(spec, cls):
        return None
    overrides = {"num_classes": 3} if spec.kind == "metric" and _has_field(cls, "num_classes") else {}
    config = reg.make_config(spec.kind, spec.name, overrides)
    data = cfg.unstructure(config)
    again: Any = cfg.structure(data, cls)
    if again != config:
        raise ConformanceError(
            f"{spec.kind} {spec.name}: config does not round-trip through cattrs: {config!r} -> {again!r}"
        )
    for fmt in ("json", "yaml", "toml"):
        text = cfg.dumps(data, fmt)
        back: Any = cfg.structure(cfg.loads(text, fmt), cls)
        if back != config:
            raise ConformanceError(f"{spec.kind} {spec.name}: config does not round-trip through {fmt}: got {back!r}")
    return config


def _required_fields(spec: ComponentSpec, cls: type) -> list[str]:
    return [f.name for f in cfg.describe(cls, spec.defaults) if f.required]


def _has_field(cls: type | None, name: str) -> bool:
    return cls is not None and any(f.name == name for f in cfg.describe(cls))


def _as_args(example: Any) -> tuple[Any, ...]:
    return example if isinstance(example, tuple) else (example,)


def _float_sum(out: Any) -> Any:
    import torch

    if isinstance(out, torch.Tensor):
        return out.float().sum() if out.is_floating_point() else None
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        parts = [p for p in (_float_sum(o) for o in out) if p is not None]
        return sum(parts[1:], parts[0]) if parts else None
    return None


def check_model(spec: ComponentSpec, *, reg: Registry | None = None) -> None:
    """Check a registered model: build, forward and backward on its example, safetensors round-trip.

    Raises:
        ConformanceError: naming the model and the rule it broke.
    """
    import torch
    from safetensors.torch import load_model, save_model

    reg = reg or registry
    where = f"model {spec.name}"
    config = check_config_roundtrip(spec, reg=reg)
    if spec.example is None:
        raise ConformanceError(f"{where}: registers no example input (pass example='module:function')")
    builder = import_object(spec.builder, what=f"builder of {where}")
    make_example = import_object(spec.example, what=f"example of {where}")

    def build(seed: int) -> torch.nn.Module:
        torch.manual_seed(seed)
        model = builder(config) if config is not None else builder(**spec.defaults)
        if not isinstance(model, torch.nn.Module):
            raise ConformanceError(f"{where}: builder returned {type(model).__name__}, not a torch.nn.Module")
        return model

    model = build(0)
    torch.manual_seed(1)
    try:
        args = _as_args(make_example(config))
    except Exception as exc:
        raise ConformanceError(f"{where}: its example function {spec.example} failed: {_error(exc)}") from exc
    model.train()
    try:
        out = model(*args)
    except Exception as exc:  # a shape or dtype mismatch surfaces deep inside the model
        raise ConformanceError(
            f"{where}: its example input ({_describe(args)}, from {spec.example}) does not fit the model built from "
            f"its default config: {_error(exc)}; make the example follow the config (e.g. its in_features or "
            "in_chans) or fix the defaults"
        ) from exc
    loss = _float_sum(out)
    if loss is None:
        raise ConformanceError(f"{where}: forward on the example gave no floating-point tensor")
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    if not any(g is not None for g in grads):
        raise ConformanceError(f"{where}: backward reached none of the parameters")
    if not all(torch.isfinite(g).all() for g in grads if g is not None):
        raise ConformanceError(f"{where}: backward gave non-finite gradients on the example")

    model.eval()
    other = build(12345).eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.safetensors"
        save_model(model, str(path))
        missing, unexpected = load_model(other, str(path))
    if missing or unexpected:
        raise ConformanceError(f"{where}: safetensors round-trip: missing {missing}, unexpected {unexpected}")
    with torch.no_grad():
        a, b = model(*args), other(*args)
    for x, y in zip(_flatten(a), _flatten(b), strict=True):
        if not torch.equal(x, y):
            raise ConformanceError(f"{where}: outputs differ after a safetensors state-dict round-trip")


def _error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _describe(args: tuple[Any, ...]) -> str:
    """``"Tensor[2, 5] float32"`` for each argument: what the example gave the model."""
    import torch

    parts = []
    for arg in args:
        if isinstance(arg, torch.Tensor):
            parts.append(f"Tensor[{', '.join(map(str, arg.shape))}] {str(arg.dtype).removeprefix('torch.')}")
        else:
            parts.append(type(arg).__name__)
    return ", ".join(parts)


def _flatten(out: Any) -> list[Any]:
    import torch

    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flatten(o)]
    return []


def check_component(spec: ComponentSpec, *, reg: Registry | None = None) -> None:
    """Run every check that applies to ``spec``'s kind.

    Models get :func:`check_model`; recipes must resolve to an existing file; every other kind gets
    the config round-trip and must build from its default config. A component whose config has
    required fields (a dataset's path, a distillation model's teacher run) cannot be built without
    user input: only its config class is checked to import.
    Metrics with a ``num_classes`` field are checked as a 3-class problem.
    """
    reg = reg or registry
    if spec.kind == "model":
        cls = reg.config_class(spec)
        if cls is not None and _required_fields(spec, cls):
            return  # built from something only a user has (core.distill's teacher run, say)
        check_model(spec, reg=reg)
    elif spec.kind == "recipe":
        reg.recipe_path(spec)
    else:
        cls = reg.config_class(spec)
        if cls is not None and _required_fields(spec, cls):
            return  # needs user input (a path, say) to build; its config class at least imports
        check_config_roundtrip(spec, reg=reg)
        # a metric's class count comes from the dataset at run time; check it as a 3-class problem
        overrides = {"num_classes": 3} if spec.kind == "metric" and _has_field(cls, "num_classes") else {}
        try:
            reg.build(spec.kind, spec.name, **overrides)
        except TypeError as exc:  # builder needs arguments a default build cannot give
            raise ConformanceError(f"{spec.kind} {spec.name}: does not build from its default config: {exc}") from exc


_LISTING_PROBE = """
import json, sys
from forge.core import registry
plugin = sys.argv[1]
infos = {i.name: i for i in registry.plugins}
info = infos.get(plugin)
specs = [s for s in registry.list() if s.provider == plugin]
for spec in specs:
    registry.config_class(spec)  # what `forge info` imports
print(json.dumps({
    "status": None if info is None else info.status,
    "error": None if info is None else info.error,
    "modules": sorted(sys.modules),
    "heavy": sorted(
        {ref.partition(":")[0] for s in specs if s.kind != "recipe" for ref in (s.builder, s.example) if ref}
    ),
}))
"""


def check_light_listing(
    plugin: str,
    *,
    forbidden: Iterable[str] = ("torch",),
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> None:
    """Check that listing and describing ``plugin``'s components stays light, in a fresh interpreter.

    A subprocess loads core and ``plugin`` (no other plugin), lists every component (what ``forge plugins`` and
    ``forge list`` do) and imports each of ``plugin``'s config classes (what ``forge info`` does);
    then none of ``forbidden`` (and none of their submodules) and none of the modules that hold
    ``plugin``'s builders and example functions may be in ``sys.modules``. A fresh interpreter is
    needed because a test process has usually imported torch already.

    Args:
        plugin: The plugin's entry-point name (``"acme"``); it must be installed and load.
        forbidden: Top-level modules that must stay unimported; add ``"click"`` to check that your
            entry-point module leaves command code to the commands hook.
        env: The subprocess's environment (default: this process's).
        timeout: Seconds before the subprocess is abandoned.

    Raises:
        ConformanceError: the plugin did not load, or the listing imported a forbidden or builder
            module (each one named).

    Example::

        def test_listing_stays_light() -> None:
            check_light_listing("acme")
    """
    done = subprocess.run(
        [sys.executable, "-c", _LISTING_PROBE, plugin],
        # only core and this plugin load, so that another plugin's imports are not blamed on it
        env={**(os.environ if env is None else env), "FORGE_LOAD_PLUGINS": plugin},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise ConformanceError(f"plugin {plugin!r}: listing its components failed:\n{done.stderr.strip()[-2000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    if found["status"] != "loaded":
        state = "is not installed" if found["status"] is None else f"is {found['status']}: {found['error']}"
        raise ConformanceError(f"plugin {plugin!r} {state}")
    modules: list[str] = found["modules"]
    bad = sorted({m for m in modules for f in forbidden if m == f or m.startswith(f + ".")})
    tops = sorted({m.split(".")[0] for m in bad})
    heavy = sorted(m for m in found["heavy"] if m in modules)
    problems = []
    if tops:
        problems.append(f"imports {', '.join(tops)} ({len(bad)} modules)")
    if heavy:
        problems.append(f"imports its builder/example modules {', '.join(heavy)}")
    if problems:
        raise ConformanceError(
            f"plugin {plugin!r}: listing and describing its components {'; '.join(problems)}; the entry-point "
            "and config modules must import neither (name builders as 'module:attr' strings, import heavy "
            "code inside builders and command callbacks)"
        )
