"""Finding, loading and isolating plugins.

Plugins are modules named by entry points in the ``forge.plugins`` group. Loading one:

1. the entry point's name is checked against ``FORGE_LOAD_PLUGINS`` (an allow-list; empty means
   none but core) and ``FORGE_DISABLE_PLUGINS`` (a block-list): a blocked plugin is never imported;
2. its module is imported; a failure is recorded with the reason instead of taking the host down,
   unless ``FORGE_STRICT_PLUGINS=1`` makes it fatal;
3. its ``FORGE_PLUGIN_API`` is checked against :data:`SUPPORTED_PLUGIN_APIS`;
4. its registration hooks run one plugin at a time, so a plugin whose hook raises is marked failed
   and registers nothing, while the others carry on.

``FORGE_TRACE_PLUGINS=1`` logs every hook call with its implementations and results.
Core's own components come through the same path: forge-core declares the entry point
``core = "forge.core._plugin"``, which always loads.
"""

from __future__ import annotations

import functools
import importlib
import os
import traceback
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import attrs
import pluggy

from forge.core import hookspecs
from forge.core._deprecated import REMOVED_IN, ForgeDeprecationWarning
from forge.core.errors import PluginError

if TYPE_CHECKING:
    import click

__all__ = [
    "ENTRY_POINT_GROUP",
    "ForgeHooks",
    "PLUGIN_API_VERSION",
    "SUPPORTED_PLUGIN_APIS",
    "LoadedPlugin",
    "PluginInfo",
    "PluginSettings",
    "collect_commands",
    "core_version",
    "discover",
    "import_object",
    "make_manager",
    "record_failure",
    "register_components",
]

ENTRY_POINT_GROUP = "forge.plugins"
PLUGIN_API_VERSION = 1
"""The plugin API this core implements; a plugin sets ``FORGE_PLUGIN_API`` to the one it targets."""
SUPPORTED_PLUGIN_APIS: frozenset[int] = frozenset({1})
CORE_PLUGIN = "core"

Status = Literal["loaded", "failed", "disabled", "incompatible"]


def _names(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(n.strip() for n in value.split(",") if n.strip())


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@attrs.frozen
class PluginSettings:
    """Which plugins to load and how strictly; by default read from the environment."""

    load: frozenset[str] | None = None
    """Only these plugins (besides core) are loaded; None means all."""
    disable: frozenset[str] = frozenset()
    """These plugins are never imported."""
    strict: bool = False
    """Raise :class:`PluginError` on the first plugin failure instead of recording it."""
    trace: bool = False
    """Log every hook call, its implementations and results."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, disable: Iterable[str] = ()) -> PluginSettings:
        """Read ``FORGE_LOAD_PLUGINS``, ``FORGE_DISABLE_PLUGINS``, ``FORGE_STRICT_PLUGINS`` and
        ``FORGE_TRACE_PLUGINS``; ``disable`` adds names (the ``--disable-plugins`` option)."""
        env = os.environ if env is None else env
        return cls(
            load=_names(env.get("FORGE_LOAD_PLUGINS")),
            disable=(_names(env.get("FORGE_DISABLE_PLUGINS")) or frozenset()) | frozenset(disable),
            strict=_flag(env.get("FORGE_STRICT_PLUGINS")),
            trace=_flag(env.get("FORGE_TRACE_PLUGINS")),
        )


@attrs.define
class PluginInfo:
    """What ``forge plugins`` shows about one plugin."""

    name: str
    distribution: str
    version: str
    module: str
    status: Status
    api_version: int | None = None
    error: str | None = None
    components: dict[str, list[str]] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict of this record."""
        return attrs.asdict(self)


@attrs.define
class LoadedPlugin:
    """A plugin module that imported and declared a supported API."""

    info: PluginInfo
    module: ModuleType


def _entry_points() -> list[metadata.EntryPoint]:
    eps = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    # core first, then alphabetical: output and registration order do not depend on sys.path order
    return sorted(eps, key=lambda ep: (ep.name != CORE_PLUGIN, ep.name))


def _short_error(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def discover(
    settings: PluginSettings,
    entry_points: Iterable[metadata.EntryPoint] | None = None,
) -> tuple[list[LoadedPlugin], list[PluginInfo]]:
    """Import the plugins that ``settings`` allows.

    Args:
        settings: Which plugins to load.
        entry_points: The entry points to consider (default: the ``forge.plugins`` group).

    Returns:
        The loaded plugins, and a record for every plugin considered (loaded or not).

    Raises:
        PluginError: a plugin failed while ``settings.strict`` is set.
    """
    loaded: list[LoadedPlugin] = []
    infos: list[PluginInfo] = []
    seen: dict[str, str] = {}
    for ep in _entry_points() if entry_points is None else entry_points:
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=ep.name,
            distribution=dist.name if dist is not None else "?",
            version=dist.version if dist is not None else "?",
            module=ep.value,
            status="loaded",
        )
        infos.append(info)
        if ep.name in seen:
            record_failure(info, settings, f"entry point name {ep.name!r} is already taken by {seen[ep.name]}")
            continue
        seen[ep.name] = info.distribution
        if ep.name != CORE_PLUGIN and (
            ep.name in settings.disable or (settings.load is not None and ep.name not in settings.load)
        ):
            info.status = "disabled"
            continue
        try:
            module = ep.load()
        except Exception as exc:
            record_failure(info, settings, f"import failed: {_short_error(exc)}", exc)
            continue
        if not isinstance(module, ModuleType):
            record_failure(info, settings, f"entry point {ep.value!r} names a {type(module).__name__}, not a module")
            continue
        api = getattr(module, "FORGE_PLUGIN_API", None)
        is_int = isinstance(api, int) and not isinstance(api, bool)
        info.api_version = api if is_int else None
        if not is_int or api not in SUPPORTED_PLUGIN_APIS:
            supported = ", ".join(map(str, sorted(SUPPORTED_PLUGIN_APIS)))
            declared = "declares no FORGE_PLUGIN_API" if api is None else f"was built for plugin API {api!r}"
            record_failure(
                info,
                settings,
                f"{declared}; forge-core {core_version()} supports plugin API {supported}",
                status="incompatible",
            )
            continue
        other = next((p.info.name for p in loaded if p.module is module), None)
        if other is not None:
            record_failure(info, settings, f"module {module.__name__!r} is already loaded as plugin {other!r}")
            continue
        problem = _hook_problem(module)
        if problem is not None:
            record_failure(info, settings, problem)
            continue
        loaded.append(LoadedPlugin(info, module))
    return loaded, infos


def _hook_problem(module: ModuleType) -> str | None:
    """Why ``module``'s hook implementations cannot be registered, or None when they can.

    Checked on a scratch manager so that one plugin's misspelt hook or wrong signature is reported
    against it instead of failing the registration of every plugin.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    try:
        pm.register(module)
    except pluggy.PluginValidationError as exc:
        return f"invalid hook implementation: {exc}"
    unknown = sorted(h.name for h in pm.get_hookcallers(module) or [] if not h.has_spec())
    if unknown:
        known = sorted(n for n in dir(hookspecs) if n.startswith("forge_"))
        return f"implements unknown hook(s) {', '.join(unknown)}; known hooks: {', '.join(known)}"
    return None


def record_failure(
    info: PluginInfo,
    settings: PluginSettings,
    reason: str,
    exc: BaseException | None = None,
    *,
    status: Status = "failed",
    pm: pluggy.PluginManager | None = None,
) -> None:
    """Record that plugin ``info`` failed (or is incompatible) for ``reason``, sparing the others.

    Sets ``info.status`` and ``info.error``, unregisters the plugin from ``pm`` when given (so none
    of its hooks run again) and logs a warning.

    Raises:
        PluginError: ``settings.strict`` is set; the message names the plugin, its distribution
            and the reason, and ``exc`` is its cause.
    """
    if pm is not None:
        pm.unregister(name=info.name)
    info.status, info.error = status, reason
    if settings.strict:
        raise PluginError(f"plugin {info.name!r} ({info.distribution} {info.version}): {reason}") from exc
    from forge.core._logging import get_logger

    get_logger("forge.plugins").warning("plugin_failed", plugin=info.name, status=status, reason=reason)


def register_components(
    pm: pluggy.PluginManager,
    plugin: LoadedPlugin,
    settings: PluginSettings,
    register_for: Callable[[hookspecs.Kind], hookspecs.Register],
) -> bool:
    """Run ``plugin``'s registration hooks, one per component kind, calling no other plugin.

    Args:
        pm: The manager ``plugin`` is registered with.
        plugin: The plugin whose hooks to run.
        settings: Plugin settings (``strict`` makes a failure raise).
        register_for: Gives the ``register`` callback the hook of each kind receives.

    Returns:
        True when every hook ran; False when one raised: the failure is then recorded (see
        :func:`record_failure`) and the caller must drop whatever the plugin registered.
    """
    hooks = ForgeHooks(pm, plugin=plugin.info.name)
    for kind in hookspecs.KINDS.values():
        try:
            hooks.register_kind(kind.name, register_for(kind))
        except Exception as exc:
            record_failure(plugin.info, settings, f"{kind.hook} failed: {_short_error(exc)}", exc, pm=pm)
            return False
    return True


def collect_commands(
    pm: pluggy.PluginManager, infos: Iterable[PluginInfo], settings: PluginSettings
) -> dict[str, click.Command]:
    """The click commands the loaded plugins among ``infos`` add through ``forge_register_commands``.

    Each plugin's hook runs alone; one that raises, or registers a command without a name, is
    recorded as failed (see :func:`record_failure`) and adds no command. When two plugins add the
    same command name, the first (in ``infos`` order) wins.
    """
    commands: dict[str, click.Command] = {}
    for info in infos:
        if info.status != "loaded":
            continue
        added: dict[str, click.Command] = {}

        def register(command: click.Command, _added: dict[str, click.Command] = added) -> None:
            if command.name is None:
                raise PluginError(f"command {command!r} has no name")
            _added.setdefault(command.name, command)

        try:
            ForgeHooks(pm, plugin=info.name).register_commands(register)
        except Exception as exc:  # a broken plugin must not take the CLI down
            record_failure(info, settings, f"forge_register_commands failed: {_short_error(exc)}", exc, pm=pm)
            continue
        for name, command in added.items():
            commands.setdefault(name, command)
    return commands


def core_version() -> str:
    """The installed forge-core version."""
    try:
        return metadata.version("forge-core")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def make_manager(plugins: Iterable[LoadedPlugin], *, trace: bool = False) -> pluggy.PluginManager:
    """A pluggy manager holding ``plugins``' modules, with hook tracing when asked."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for plugin in plugins:
        pm.register(plugin.module, name=plugin.info.name)
    if trace:
        _enable_trace(pm)
    return pm


def _enable_trace(pm: pluggy.PluginManager) -> None:
    from forge.core._logging import get_logger

    log = get_logger("forge.plugins.trace")

    def before(hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
        log.info("hook_call", hook=hook_name, implementations=[i.plugin_name for i in impls])

    def after(
        outcome: pluggy.Result[Any], hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]
    ) -> None:
        exc = outcome.exception
        log.info(
            "hook_result",
            hook=hook_name,
            implementations=[i.plugin_name for i in impls],
            result=repr(outcome.get_result()) if exc is None else None,
            error=None if exc is None else _short_error(exc),
        )

    pm.add_hookcall_monitoring(before, after)


class ForgeHooks:
    """A typed facade over ``pm.hook``, so mypy sees the real signatures of the hooks.

    Args:
        pm: The plugin manager.
        plugin: Call only this plugin's implementations (how a plugin whose hook raises is
            isolated); None calls every plugin's.

    Example:
        >>> ForgeHooks(pm, plugin="vision").register_kind("model", register)  # doctest: +SKIP
    """

    def __init__(self, pm: pluggy.PluginManager, plugin: str | None = None) -> None:
        self._pm, self._plugin = pm, plugin

    def _caller(self, hook_name: str) -> Any:
        if self._plugin is None:
            return getattr(self._pm.hook, hook_name)
        others = [p for name, p in self._pm.list_name_plugin() if name != self._plugin]
        return self._pm.subset_hook_caller(hook_name, remove_plugins=others)

    def register_kind(self, kind: str, register: hookspecs.Register) -> None:
        """Call the registration hook of component ``kind`` (``"model"``: ``forge_register_models``)."""
        self._caller(hookspecs.KINDS[kind].hook)(register=register)

    def register_commands(self, register: hookspecs.CommandRegister) -> None:
        """Call ``forge_register_commands``."""
        self._caller("forge_register_commands")(register=register)

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Callable[[hookspecs.Register], None]:
            # the per-kind methods of 0.1 (``register_models``...), deprecated for register_kind
            kind = next((k for k in hookspecs.KINDS.values() if name == f"register_{k.plural}"), None)
            if kind is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            warnings.warn(
                ForgeDeprecationWarning(
                    f"ForgeHooks.{name} is deprecated and will be removed in forge-core {REMOVED_IN}; "
                    f"use ForgeHooks.register_kind({kind.name!r}, register)"
                ),
                stacklevel=2,
            )
            return functools.partial(self.register_kind, kind.name)


def import_object(ref: str, *, what: str) -> Any:
    """Import ``"module:attr.path"``.

    Raises:
        PluginError: the reference is malformed or the import fails; names ``what`` it was for.
    """
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise PluginError(f"{what}: {ref!r} is not of the form 'module:attr'")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise PluginError(f"{what}: cannot import {module_name!r}: {_short_error(exc)}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginError(f"{what}: module {module_name!r} has no attribute {attr!r}") from None
    return obj
