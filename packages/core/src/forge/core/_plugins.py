"""Finding, loading and isolating plugins.

Plugins are modules named by entry points in the ``forge.plugins`` group. Loading one:

1. the entry point's name and its distribution's name are checked against ``FORGE_LOAD_PLUGINS``
   (an allow-list; empty means none but core) and ``FORGE_DISABLE_PLUGINS`` (a block-list): a
   blocked plugin is never imported;
2. its name is checked for ownership: the names of forge's own plugins (:data:`OWNERS`) belong to
   their distributions, and a name that several distributions declare is refused for all of them,
   so which plugin answers to a name never depends on install order;
3. its module is imported, with what it prints captured and reported as a warning; a failure is
   recorded with the reason instead of taking the host down, unless ``FORGE_STRICT_PLUGINS=1``
   makes it fatal;
4. its ``FORGE_PLUGIN_API`` is checked against :data:`SUPPORTED_PLUGIN_APIS`;
5. its registration hooks run one plugin at a time, so a plugin whose hook raises is marked failed
   and registers nothing, while the others carry on.

``FORGE_TRACE_PLUGINS=1`` logs every hook call with its implementations and results. Every
plugin's import and registration time is recorded; one slower than ``FORGE_PLUGIN_SLOW_MS``
(default :data:`DEFAULT_SLOW_MS`) gets a warning, since every ``forge`` command pays for it.
Core's own components come through the same path: forge-core declares the entry point
``core = "forge.core._plugin"``, which always loads.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import math
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import attrs
import pluggy

from forge.core import hookspecs
from forge.core._deprecated import warn_deprecated
from forge.core.errors import PluginError

if TYPE_CHECKING:
    import click

__all__ = [
    "DEFAULT_SLOW_MS",
    "ENTRY_POINT_GROUP",
    "ForgeHooks",
    "PLUGIN_API_VERSION",
    "SUPPORTED_PLUGIN_APIS",
    "LoadedPlugin",
    "OWNERS",
    "PluginInfo",
    "PluginSettings",
    "collect_commands",
    "core_version",
    "discover",
    "import_object",
    "make_manager",
    "record_failure",
    "record_warning",
    "register_components",
    "warn_if_slow",
]

ENTRY_POINT_GROUP = "forge.plugins"
PLUGIN_API_VERSION = 1
"""The plugin API this core implements; a plugin sets ``FORGE_PLUGIN_API`` to the one it targets."""
SUPPORTED_PLUGIN_APIS: frozenset[int] = frozenset({1})
CORE_PLUGIN = "core"
OWNERS: Mapping[str, str] = {
    "core": "forge-core",
    "vision": "forge-vision",
    "nlp": "forge-nlp",
    "graph": "forge-graph",
    "diffusion": "forge-diffusion",
    "serve": "forge-serve",
}
"""Entry-point names reserved for forge's own distributions: from any other one they are refused."""

DEFAULT_SLOW_MS = 200.0
"""A plugin taking longer than this to import and register (milliseconds) is warned about."""

Status = Literal["loaded", "failed", "disabled", "incompatible"]


def _names(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(n.strip() for n in value.split(",") if n.strip())


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _milliseconds(value: str | None) -> float:
    if value is None or not value.strip():
        return DEFAULT_SLOW_MS
    try:
        ms = float(value)
    except ValueError:
        ms = math.nan
    if not math.isfinite(ms) or ms < 0:
        raise PluginError(f"FORGE_PLUGIN_SLOW_MS must be a number of milliseconds >= 0, got {value!r}")
    return ms


def _normalize(name: str) -> str:
    """A distribution name as the package index compares them (PEP 503): ``Forge_Core`` is ``forge-core``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@attrs.frozen
class PluginSettings:
    """Which plugins to load and how strictly; by default read from the environment."""

    load: frozenset[str] | None = None
    """Only these plugins (entry-point or distribution names) besides core are loaded; None means all."""
    disable: frozenset[str] = frozenset()
    """These plugins (entry-point or distribution names) are never imported."""
    strict: bool = False
    """Raise :class:`PluginError` on the first plugin failure instead of recording it."""
    trace: bool = False
    """Log every hook call, its implementations and results."""
    slow_ms: float = DEFAULT_SLOW_MS
    """A plugin whose import and registration take longer (milliseconds) gets a warning."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, disable: Iterable[str] = ()) -> PluginSettings:
        """Read ``FORGE_LOAD_PLUGINS``, ``FORGE_DISABLE_PLUGINS``, ``FORGE_STRICT_PLUGINS``,
        ``FORGE_TRACE_PLUGINS`` and ``FORGE_PLUGIN_SLOW_MS``; ``disable`` adds names (the
        ``--disable-plugins`` option).

        Raises:
            PluginError: ``FORGE_PLUGIN_SLOW_MS`` is not a number >= 0.
        """
        env = os.environ if env is None else env
        return cls(
            load=_names(env.get("FORGE_LOAD_PLUGINS")),
            disable=(_names(env.get("FORGE_DISABLE_PLUGINS")) or frozenset()) | frozenset(disable),
            strict=_flag(env.get("FORGE_STRICT_PLUGINS")),
            trace=_flag(env.get("FORGE_TRACE_PLUGINS")),
            slow_ms=_milliseconds(env.get("FORGE_PLUGIN_SLOW_MS")),
        )


@attrs.define
class PluginInfo:
    """What ``forge plugins`` shows about one plugin."""

    name: str
    """The entry-point name, which prefixes the plugin's component names."""
    distribution: str
    """The distribution that declares the entry point (``"?"`` for one built in code)."""
    version: str
    module: str
    status: Status
    api_version: int | None = None
    error: str | None = None
    components: dict[str, list[str]] = attrs.field(factory=dict)
    commands: list[str] = attrs.field(factory=list)
    """The CLI commands it adds (filled in when the CLI collects plugin commands)."""
    warnings: list[str] = attrs.field(factory=list)
    """Problems that did not stop it loading: output it printed, CLI commands it could not add, slowness."""
    import_ms: float | None = None
    """How long importing its entry-point module took, in milliseconds (None: not imported)."""
    register_ms: float | None = None
    """How long its registration hooks took, in milliseconds (None: they did not run)."""

    @property
    def load_ms(self) -> float | None:
        """Import plus registration time in milliseconds: what every ``forge`` command pays for it."""
        if self.import_ms is None:
            return None
        return self.import_ms + (self.register_ms or 0.0)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict of this record (with ``load_ms``, import plus registration time)."""
        return {**attrs.asdict(self), "load_ms": self.load_ms}

    def matches(self, names: Collection[str]) -> bool:
        """Whether ``names`` holds this plugin's entry-point name or its distribution's name."""
        dist = _normalize(self.distribution)
        return self.name in names or any(_normalize(n) == dist for n in names)

    @property
    def genuine(self) -> bool:
        """False when the entry-point name is one of forge's own and another distribution declares it.

        An entry point without a distribution was built in code by the caller (tests, an
        application passing ``entry_points=``), not installed, so it is taken at its word.
        """
        owner = OWNERS.get(self.name)
        return owner is None or self.distribution == "?" or _normalize(self.distribution) == owner

    def describe(self) -> str:
        """``"forge-acme 1.2"``; the module for an entry point without a distribution."""
        return f"{self.distribution} {self.version}" if self.distribution != "?" else f"module {self.module}"


@attrs.define
class LoadedPlugin:
    """A plugin module that imported and declared a supported API."""

    info: PluginInfo
    module: ModuleType


def _dist_name(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else "?"


def _entry_points() -> list[metadata.EntryPoint]:
    eps = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    # core first, then alphabetical: output and registration order do not depend on sys.path order
    return sorted(eps, key=lambda ep: (ep.name != CORE_PLUGIN, ep.name, _normalize(_dist_name(ep))))


_HOST_DIRS = tuple(
    os.path.dirname(os.path.abspath(path)) + os.sep for path in (__file__, pluggy.__file__, importlib.__file__)
)
"""Code of forge-core, pluggy and importlib: an error's location is the innermost frame outside them."""


def _package_dir(module: str | None) -> str | None:
    """Where ``module``'s top-level package lives (its directory; a lone module's file), when imported."""
    if not module:
        return None
    top = sys.modules.get(module.split(".")[0])
    found = getattr(top, "__file__", None)
    if not isinstance(found, str):  # not imported, or a namespace package (``forge``) shared by many
        return None
    path = os.path.abspath(found)
    return os.path.dirname(path) + os.sep if hasattr(top, "__path__") else path


def _short_error(exc: BaseException, module: str | None = None) -> str:
    """``Type: message (file:line)``, the location being the innermost frame in the plugin's own code.

    A plugin's mistake usually surfaces inside core (the ``register`` callback, the import
    machinery) or a library it calls, so the frame shown is the innermost one in the plugin's
    package (``module``'s top-level package, when given and imported): its ``register(...)`` call or
    the line that raised. Without one, it is the innermost frame outside forge-core, pluggy and
    importlib; when every frame is the host's own (core's own plugin), the innermost one.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    package = _package_dir(module)
    mine = [f for f in frames if package is not None and os.path.abspath(f.filename).startswith(package)]
    own = [f for f in frames if not os.path.abspath(f.filename).startswith(_HOST_DIRS) and "<frozen" not in f.filename]
    chosen = mine or own or frames
    where = f" ({chosen[-1].filename}:{chosen[-1].lineno})" if chosen else ""
    return f"{type(exc).__name__}: {exc}{where}"


@contextlib.contextmanager
def _captured_output(info: PluginInfo, during: str) -> Iterator[None]:
    """Capture what plugin code prints while the block runs; record it as a warning on ``info``.

    Keeps machine-readable output (``forge plugins --json``) parseable whatever a plugin prints.
    Only Python-level writes to ``sys.stdout`` and ``sys.stderr`` are caught, not writes to the
    file descriptors themselves.
    """
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield
    finally:
        for stream, text in (("stdout", out.getvalue()), ("stderr", err.getvalue())):
            if text.strip():
                lines = text.strip().splitlines()
                shown = lines[0][:120] + (f" ... ({len(lines)} lines)" if len(lines) > 1 else "")
                record_warning(info, f"printed to {stream} during {during}: {shown!r}")


def _is_blocked(info: PluginInfo, settings: PluginSettings) -> bool:
    if info.name == CORE_PLUGIN and info.genuine:
        return False  # forge-core's own components: nothing works without them
    return info.matches(settings.disable) or (settings.load is not None and not info.matches(settings.load))


def _name_problems(infos: Sequence[PluginInfo]) -> dict[int, str]:
    """Why each of ``infos`` (by index) may not use its entry-point name: impostors and clashes."""
    by_name: dict[str, list[int]] = {}
    for index, info in enumerate(infos):
        by_name.setdefault(info.name, []).append(index)
    problems: dict[int, str] = {}
    for name, indices in by_name.items():
        owner = OWNERS.get(name)
        for i in [i for i in indices if not infos[i].genuine]:
            problems[i] = (
                f"entry point name {name!r} belongs to forge's own distribution {owner}, not to "
                f"{infos[i].describe()}: uninstall {infos[i].distribution} or disable it "
                f"(FORGE_DISABLE_PLUGINS={infos[i].distribution})"
            )
        claimants = [i for i in indices if infos[i].genuine]
        if len(claimants) > 1:
            who = " and ".join(sorted(infos[i].describe() for i in claimants))
            for i in claimants:
                problems[i] = (
                    f"entry point name {name!r} is declared by {who}, so neither is loaded: uninstall or "
                    "disable all but one (FORGE_DISABLE_PLUGINS takes a distribution name)"
                )
    return problems


def discover(
    settings: PluginSettings,
    entry_points: Iterable[metadata.EntryPoint] | None = None,
) -> tuple[list[LoadedPlugin], list[PluginInfo]]:
    """Import the plugins that ``settings`` allows.

    An entry-point name of forge's own (:data:`OWNERS`) declared by another distribution, and a
    name declared by several distributions, is refused (status ``failed``) for every such entry
    point except the genuine owner's, whatever the install order.

    Args:
        settings: Which plugins to load.
        entry_points: The entry points to consider (default: the ``forge.plugins`` group).

    Returns:
        The loaded plugins, and a record for every plugin considered (loaded or not).

    Raises:
        PluginError: a plugin failed while ``settings.strict`` is set.
    """
    eps = list(_entry_points() if entry_points is None else entry_points)
    infos: list[PluginInfo] = []
    for ep in eps:
        dist = getattr(ep, "dist", None)
        infos.append(
            PluginInfo(
                name=ep.name,
                distribution=dist.name if dist is not None else "?",
                version=dist.version if dist is not None else "?",
                module=ep.value,
                status="loaded",
            )
        )
    for info in infos:
        if _is_blocked(info, settings):
            info.status = "disabled"
    candidates = [(ep, info) for ep, info in zip(eps, infos, strict=True) if info.status != "disabled"]
    problems = _name_problems([info for _, info in candidates])
    loaded: list[LoadedPlugin] = []
    for index, (ep, info) in enumerate(candidates):
        if index in problems:
            record_failure(info, settings, problems[index])
            continue
        started = time.perf_counter()
        try:
            with _captured_output(info, "import"):
                module = ep.load()
        except Exception as exc:
            record_failure(info, settings, f"import failed: {_short_error(exc, ep.value)}", exc)
            continue
        finally:
            info.import_ms = (time.perf_counter() - started) * 1000.0
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


def record_warning(info: PluginInfo, message: str) -> None:
    """Add ``message`` to plugin ``info``'s warnings (shown by ``forge plugins``) and log it."""
    info.warnings.append(message)
    from forge.core._logging import get_logger

    get_logger("forge.plugins").warning("plugin_warning", plugin=info.name, warning=message)


def register_components(
    pm: pluggy.PluginManager,
    plugin: LoadedPlugin,
    settings: PluginSettings,
    register_for: Callable[[hookspecs.Kind], hookspecs.Register],
) -> bool:
    """Run ``plugin``'s registration hooks, one per component kind, calling no other plugin.

    What the hooks print is captured and recorded as a warning on the plugin.

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
    started = time.perf_counter()
    for kind in hookspecs.KINDS.values():
        try:
            with _captured_output(plugin.info, kind.hook):
                hooks.register_kind(kind.name, register_for(kind))
        except Exception as exc:
            problem = _short_error(exc, plugin.module.__name__)
            record_failure(plugin.info, settings, f"{kind.hook} failed: {problem}", exc, pm=pm)
            return False
    plugin.info.register_ms = (time.perf_counter() - started) * 1000.0
    warn_if_slow(plugin.info, settings)
    return True


def warn_if_slow(info: PluginInfo, settings: PluginSettings) -> None:
    """Warn on ``info`` when importing and registering it took longer than ``settings.slow_ms``."""
    took = info.load_ms
    if took is None or took <= settings.slow_ms:
        return
    record_warning(
        info,
        f"slow to load: import {info.import_ms:.0f} ms + registration {info.register_ms or 0.0:.0f} ms, over "
        f"FORGE_PLUGIN_SLOW_MS={settings.slow_ms:g}; every forge command pays this: keep the entry-point "
        "module light (no torch or model code at import; name builders as 'module:attr' strings)",
    )


def collect_commands(
    pm: pluggy.PluginManager,
    infos: Iterable[PluginInfo],
    settings: PluginSettings,
    builtins: Collection[str] = (),
) -> dict[str, click.Command]:
    """The click commands the loaded plugins among ``infos`` add through ``forge_register_commands``.

    Each plugin's hook runs alone; one that raises, or registers a command without a name, is
    recorded as failed (see :func:`record_failure`) and adds no command. A command named like one
    of ``builtins``, or one that several plugins add, is not installed: each plugin concerned gets
    a warning naming the others (strict mode raises instead). Each plugin's ``commands`` lists the
    commands it adds.

    Raises:
        PluginError: ``settings.strict`` is set and a hook failed or a command name clashed.
    """
    offered: dict[str, list[tuple[PluginInfo, click.Command]]] = {}
    for info in infos:
        if info.status != "loaded":
            continue
        added: dict[str, click.Command] = {}

        def register(command: click.Command, _added: dict[str, click.Command] = added) -> None:
            if command.name is None:
                raise PluginError(f"command {command!r} has no name")
            _added.setdefault(command.name, command)

        try:
            with _captured_output(info, "forge_register_commands"):
                ForgeHooks(pm, plugin=info.name).register_commands(register)
        except Exception as exc:  # a broken plugin must not take the CLI down
            problem = _short_error(exc, info.module)
            record_failure(info, settings, f"forge_register_commands failed: {problem}", exc, pm=pm)
            continue
        for name, command in added.items():
            offered.setdefault(name, []).append((info, command))
    commands: dict[str, click.Command] = {}
    clashes: list[str] = []
    for name, claims in offered.items():
        if name in builtins:
            problem = f"command {name!r} would shadow forge's built-in command; not added"
        elif len(claims) > 1:
            who = " and ".join(sorted(f"{i.name} ({i.describe()})" for i, _ in claims))
            problem = f"command {name!r} is added by plugins {who}; added by neither"
        else:
            info, commands[name] = claims[0]
            info.commands.append(name)
            continue
        clashes.append(problem)
        for info, _ in claims:
            record_warning(info, problem)
    if clashes and settings.strict:
        raise PluginError("; ".join(clashes))
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
            warn_deprecated(f"ForgeHooks.{name}", f"ForgeHooks.register_kind({kind.name!r}, register)", 3)
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
