"""The component registry: every model, loss, metric, dataset... forge can build, by name.

Components are registered by plugins (see :mod:`forge.core.hookspecs`) and described by a
:class:`ComponentSpec`. Listing and describing them imports no torch and no plugin code; building
one imports its builder and config class then::

    from forge.core._registry import registry
    model = registry.build("model", "vision.resnet50", num_classes=10)
    registry.list("model", pattern="resnet*", tags={"image-classification"})

A name can be given qualified (``vision.resnet50``) or short (``resnet50``); a short name that two
plugins both register is refused with both providers named.
"""

from __future__ import annotations

import difflib
import fnmatch
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from forge.core import _plugins, hookspecs
from forge.core import config as cfg
from forge.core.errors import ConfigError, PluginError, RegistryError

__all__ = ["KINDS", "ComponentSpec", "Registry", "normalize_kind", "registry"]

KINDS: dict[str, str] = {kind.name: kind.hook for kind in hookspecs.KINDS.values()}
"""Component kinds and the hook that registers each (derived from :data:`forge.core.hookspecs.KINDS`)."""

_SPELLINGS = {spelling: kind.name for kind in hookspecs.KINDS.values() for spelling in (kind.name, kind.plural)}


def normalize_kind(kind: str) -> str:
    """Map ``"models"``, ``"Model"`` or ``"model"`` to ``"model"``.

    Raises:
        RegistryError: the kind is unknown (the message lists the known kinds).
    """
    k = _SPELLINGS.get(kind.strip().lower())
    if k is None:
        raise RegistryError(f"unknown component kind {kind!r}; known kinds: {', '.join(KINDS)}")
    return k


def _as_dict(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(value or {})


@attrs.frozen
class ComponentSpec:
    """A registered component: what it is, who provides it, and how to build it."""

    kind: str
    name: str
    """Qualified name, ``provider.short_name``."""
    provider: str
    """The plugin (entry-point name) that registered it."""
    builder: str
    """``"module:attr"`` of the builder (for recipes ``"package:resource"``)."""
    config: str | None = None
    """``"module:Class"`` of the attrs config class."""
    defaults: Mapping[str, Any] = attrs.field(factory=dict, converter=_as_dict)
    tags: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset)
    summary: str = ""
    example: str | None = None

    @property
    def short_name(self) -> str:
        """The name without its provider prefix."""
        return self.name[len(self.provider) + 1 :]

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict of this spec."""
        d = attrs.asdict(self)
        d["tags"] = sorted(self.tags)
        d["defaults"] = dict(self.defaults)
        return d


class Registry:
    """Holds component specs; populated from the installed plugins on first use.

    Args:
        settings: Which plugins to load; default: read from the environment when first used.
        entry_points: Entry points to load instead of the installed ``forge.plugins`` group.
    """

    def __init__(
        self,
        settings: _plugins.PluginSettings | None = None,
        entry_points: Iterable[Any] | None = None,
    ) -> None:
        self._settings = settings
        self._entry_points = list(entry_points) if entry_points is not None else None
        self._specs: dict[tuple[str, str], ComponentSpec] = {}
        self._infos: list[_plugins.PluginInfo] = []
        self._pm: Any = None
        self._loaded = False
        self._lock = threading.RLock()

    # -- loading ---------------------------------------------------------------------------
    def configure(self, settings: _plugins.PluginSettings) -> None:
        """Set plugin settings; only allowed before the registry is first used."""
        with self._lock:
            if self._loaded:
                raise PluginError("plugin settings must be set before the registry is first used")
            self._settings = settings

    def load(self) -> None:
        """Discover plugins and run their registration hooks (done once, on first use)."""
        with self._lock:
            if self._loaded:
                return
            settings = self.settings
            loaded, self._infos = _plugins.discover(settings, self._entry_points)
            self._pm = _plugins.make_manager(loaded, trace=settings.trace)
            for plugin in loaded:
                self._register_plugin(plugin, settings)
            self._loaded = True

    def _register_plugin(self, plugin: _plugins.LoadedPlugin, settings: _plugins.PluginSettings) -> None:
        name = plugin.info.name
        pending: list[ComponentSpec] = []
        sites: dict[tuple[str, str], list[str]] = {}

        def register_for(kind: hookspecs.Kind) -> hookspecs.Register:
            def register(short: str, /, **fields: Any) -> None:
                # the keywords are those of hookspecs.Register, which plugins are type-checked against
                site = _call_site()
                if not isinstance(short, str) or not short or "." in short or "/" in short:
                    raise RegistryError(f"{site}: {kind.name} name {short!r}: must be non-empty without '.' or '/'")
                builder = fields.get("builder")
                if not isinstance(builder, str) or not _is_ref(builder):
                    raise RegistryError(
                        f"{site}: {kind.name} {short!r}: builder must be a 'module:attr' string, got {builder!r}"
                    )
                for key in ("config", "example"):
                    ref = fields.get(key)
                    if ref is not None and (not isinstance(ref, str) or not _is_ref(ref)):
                        raise RegistryError(
                            f"{site}: {kind.name} {short!r}: {key} must be a 'module:attr' string, got {ref!r}"
                        )
                try:
                    spec = ComponentSpec(kind=kind.name, name=f"{name}.{short}", provider=name, **fields)
                except TypeError as exc:
                    raise RegistryError(f"{site}: {kind.name} {short!r}: {exc}") from None
                sites.setdefault((spec.kind, spec.name), []).append(site)
                if settings.trace:
                    # register() returns nothing, so the hook's result proper is what it registered
                    _trace_log().info(
                        "hook_register",
                        hook=kind.hook,
                        plugin=name,
                        kind=kind.name,
                        name=spec.name,
                        builder=spec.builder,
                        config=spec.config,
                    )
                pending.append(spec)

            return register

        if not _plugins.register_components(self._pm, plugin, settings, register_for):
            return
        keys = [(s.kind, s.name) for s in pending]
        dupes = sorted(
            {
                f"{k}:{n} (registered at {' and '.join(sites[(k, n)])})"
                for k, n in keys
                if keys.count((k, n)) > 1 or (k, n) in self._specs
            }
        )
        if dupes:
            reason = f"registers duplicate names: {', '.join(dupes)}"
            _plugins.record_failure(plugin.info, settings, reason, pm=self._pm)
            return
        for spec in pending:
            self._specs[(spec.kind, spec.name)] = spec
            plugin.info.components.setdefault(spec.kind, []).append(spec.name)

    @property
    def loaded(self) -> bool:
        """Whether the plugins have been loaded (the registry's first use); settings are fixed from then."""
        return self._loaded

    @property
    def settings(self) -> _plugins.PluginSettings:
        """The plugin settings: as given or configured, else read from the environment."""
        if self._settings is None:
            self._settings = _plugins.PluginSettings.from_env()
        return self._settings

    @property
    def plugins(self) -> list[_plugins.PluginInfo]:
        """A record for every plugin found: loaded, failed, incompatible or disabled."""
        self.load()
        return list(self._infos)

    @property
    def hooks(self) -> Any:
        """The pluggy hook relay of the loaded plugins."""
        self.load()
        return self._pm.hook

    def plugin_manager(self) -> Any:
        """The underlying :class:`pluggy.PluginManager`."""
        self.load()
        return self._pm

    # -- queries ---------------------------------------------------------------------------
    def list(
        self,
        kind: str | None = None,
        pattern: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> list[ComponentSpec]:
        """Specs of ``kind`` (all kinds when None) whose name matches ``pattern`` and has all ``tags``.

        ``pattern`` is a glob (``resnet*``) matched against the qualified and the short name; a
        pattern without glob characters matches as a substring.
        """
        self.load()
        k = normalize_kind(kind) if kind else None
        want = frozenset(tags or ())
        out = []
        for spec in self._specs.values():
            if k is not None and spec.kind != k:
                continue
            if pattern and not _matches(spec, pattern):
                continue
            if not want <= spec.tags:
                continue
            out.append(spec)
        return sorted(out, key=lambda s: (s.kind, s.name))

    def get(self, kind: str, name: str) -> ComponentSpec:
        """The spec of component ``name`` (qualified or short) of ``kind``.

        Raises:
            RegistryError: unknown name (with close matches), or a short name two plugins register.
        """
        self.load()
        k = normalize_kind(kind)
        name = name.replace("/", ".") if k == "recipe" else name
        spec = self._specs.get((k, name))
        if spec is not None:
            return spec
        matches = [s for s in self._specs.values() if s.kind == k and s.short_name == name]
        if len(matches) == 1:
            return matches[0]
        if matches:
            names = " and ".join(f"{s.name} (from {s.provider})" for s in matches)
            raise RegistryError(f"{k} name {name!r} is ambiguous: {names}; use the qualified name")
        known = [s.name for s in self._specs.values() if s.kind == k]
        close = difflib.get_close_matches(name, known + [n.split(".", 1)[1] for n in known], n=3)
        plural = hookspecs.KINDS[k].plural
        hint = f"; did you mean {', '.join(close)}?" if close else f"; `forge list {plural}` shows them"
        raise RegistryError(f"no {k} named {name!r}{hint}")

    def config_class(self, spec: ComponentSpec) -> type | None:
        """Import and return the config class of ``spec`` (None if it has none)."""
        if spec.config is None:
            return None
        cls = _plugins.import_object(spec.config, what=f"config of {spec.kind} {spec.name}")
        if not attrs.has(cls):
            raise RegistryError(f"config of {spec.kind} {spec.name}: {spec.config} is not an attrs class")
        return cls

    def make_config(self, kind: str, name: str, params: Mapping[str, Any] | None = None, *, where: str = "") -> Any:
        """Build the config object of a component from its registered defaults and ``params``.

        Args:
            kind: Component kind.
            name: Component name.
            params: Field values; keys may be dotted (``"head.dropout"``).
            where: Key path of ``params`` in a larger config, for error messages.

        Raises:
            ConfigError: a key is unknown or a value has the wrong type (names the key path).
        """
        spec = self.get(kind, name)
        cls = self.config_class(spec)
        if cls is None:
            raise RegistryError(f"{spec.kind} {spec.name} has no config class")
        data = _merge(dict(spec.defaults), _undot(params or {}))
        return cfg.structure(data, cls, where=where or f"{spec.kind} {spec.name}")

    def build(self, kind: str, name: str, config: Any = None, /, **overrides: Any) -> Any:
        """Build component ``name`` of ``kind`` from ``config`` or with config ``overrides`` applied.

        Args:
            kind: Component kind.
            name: Component name (qualified or short).
            config: An already resolved config object (an instance of the component's config
                class, e.g. from :meth:`make_config`), handed to the builder as it is.
            overrides: Without ``config``: field values applied on top of the registered defaults
                (keys may be dotted).

        Returns:
            Whatever the component's builder returns (a module, a loss, a dataset...). For a
            recipe, the path of its file.

        Raises:
            RegistryError: the component is unknown or its builder cannot be imported.
            ConfigError: an override is invalid; ``config`` is given together with overrides, is
                not an instance of the component's config class, or the component has none.
        """
        spec = self.get(kind, name)
        if spec.kind == "recipe":
            return self.recipe_path(spec)
        if config is None:
            builder = self._builder(spec)
            if spec.config is None:
                return builder(**_merge(dict(spec.defaults), _undot(overrides)))
            return builder(self.make_config(spec.kind, spec.name, overrides))
        where, cls = f"{spec.kind} {spec.name}", self.config_class(spec)
        if overrides:
            raise ConfigError(f"{where}: give a config object or overrides, not both ({', '.join(overrides)})")
        if cls is None:
            raise ConfigError(f"{where} has no config class; pass keyword arguments, not a config object")
        if not isinstance(config, cls):
            raise ConfigError(f"{where} takes a {_qualname(cls)} config, got a {_qualname(type(config))}")
        return self._builder(spec)(config)

    def builder(self, kind: str, name: str) -> Callable[..., Any]:
        """The imported builder of component ``name`` of ``kind``, to call with runtime arguments.

        Raises:
            RegistryError: the component is unknown, or is a recipe (recipes have a file, see
                :meth:`recipe_path`, not a builder).
            PluginError: the builder cannot be imported.
        """
        spec = self.get(kind, name)
        if spec.kind == "recipe":
            raise RegistryError(f"recipe {spec.name} has no builder; its file is registry.recipe_path(spec)")
        return self._builder(spec)

    def _builder(self, spec: ComponentSpec) -> Callable[..., Any]:
        builder: Callable[..., Any] = _plugins.import_object(spec.builder, what=f"builder of {spec.kind} {spec.name}")
        return builder

    def recipe_path(self, spec: ComponentSpec) -> Path:
        """The file of a registered recipe."""
        package, _, resource = spec.builder.partition(":")
        try:
            path = Path(str(resources.files(package).joinpath(resource)))
        except ModuleNotFoundError:
            raise RegistryError(f"recipe {spec.name}: package {package!r} is not importable") from None
        if not path.is_file():
            raise RegistryError(f"recipe {spec.name}: {spec.builder} does not exist")
        return path


def _is_ref(ref: str) -> bool:
    module, sep, attr = ref.partition(":")
    return bool(sep and module.strip() and attr.strip())


def _call_site() -> str:
    """``file:line`` of the plugin code that called ``register`` (two frames up: register, then its caller)."""
    frame = sys._getframe(2)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _trace_log() -> Any:
    from forge.core._logging import get_logger

    return get_logger("forge.plugins.trace")


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _matches(spec: ComponentSpec, pattern: str) -> bool:
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatchcase(spec.name, pattern) or fnmatch.fnmatchcase(spec.short_name, pattern)
    return pattern in spec.name


def _undot(params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _undot(value) if isinstance(value, Mapping) else value
    return out


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            base[key] = _merge(dict(base[key]), value)
        else:
            base[key] = value
    return base


registry = Registry()
"""The process-wide registry, loaded from the installed plugins on first use."""
