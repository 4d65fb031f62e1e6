"""The hook specifications every forge plugin implements.

A plugin is a module named by an entry point in the ``forge.plugins`` group. It sets
``FORGE_PLUGIN_API`` to the plugin API version it was written for and implements any of the hooks
below, each of which receives a ``register`` callback::

    from forge.core.hookspecs import Register, hookimpl

    FORGE_PLUGIN_API = 1

    @hookimpl
    def forge_register_models(register: Register) -> None:
        register("tiny", builder="my_pkg.models:build_tiny", config="my_pkg.configs:TinyConfig",
                 summary="A tiny CNN", tags=("image-classification",))

Names are given short (``"tiny"``); the registry qualifies them with the plugin's entry-point name
(``"my_pkg.tiny"``). Builders and config classes are ``"module:attr"`` strings, imported only when a
component is built or described, so listing components never imports torch or model code.

Receiving a callback rather than returning a list lets core add keyword arguments to
``register`` without breaking any plugin. The component kinds are declared once, in :data:`KINDS`;
each has a hook ``forge_register_<plural>(register: Register) -> None`` generated from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import pluggy

if TYPE_CHECKING:
    import click

__all__ = [
    "PROJECT",
    "KINDS",
    "CommandRegister",
    "Kind",
    "Register",
    "hookimpl",
    "hookspec",
]

PROJECT = "forge"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class Register(Protocol):
    """The callback a ``forge_register_*`` hook receives."""

    def __call__(
        self,
        name: str,
        /,
        *,
        builder: str,
        config: str | None = None,
        defaults: Mapping[str, Any] | None = None,
        summary: str = "",
        tags: Iterable[str] = (),
        example: str | None = None,
    ) -> None:
        """Register one component.

        Args:
            name: Short name, unique within the plugin (``"resnet50"``).
            builder: ``"module:attr"`` of a callable taking the config object and returning the
                component; for recipes, ``"package:file.toml"``, a resource inside a package.
            config: ``"module:Class"`` of the component's attrs config class, or None when the
                builder takes keyword arguments only.
            defaults: Field values that differ from the config class defaults for this name.
            summary: One line for ``forge list``.
            tags: Free-form labels to filter on (``"image-classification"``).
            example: ``"module:attr"`` of a callable ``f(config) -> input`` giving a small example
                input, used by the conformance kit in :mod:`forge.core.testing`.
        """


class CommandRegister(Protocol):
    """The callback ``forge_register_commands`` receives."""

    def __call__(self, command: click.Command) -> None:
        """Add ``command`` to the ``forge`` command line."""


class Kind(NamedTuple):
    """A component kind: its name, its plural, and the hook through which plugins register it."""

    name: str
    """``"model"``: how recipes, ``registry.build`` and ``forge info --kind`` name the kind."""
    plural: str
    """``"models"``: how ``forge list`` names it; the hook is ``forge_register_<plural>``."""
    doc: str
    """The hook's docstring: what it registers and what the builders return."""

    @property
    def hook(self) -> str:
        """The name of the hook that registers components of this kind."""
        return f"forge_register_{self.plural}"


KINDS: Mapping[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("model", "models", "Register model architectures (builders return a ``torch.nn.Module``)."),
        Kind("loss", "losses", "Register loss functions (builders return a ``torch.nn.Module``)."),
        Kind("metric", "metrics", "Register metrics (builders return a ``torchmetrics.Metric``)."),
        Kind("dataset", "datasets", "Register datasets (builders return a :class:`forge.core.data.DatasetSplits`)."),
        Kind("transform", "transforms", "Register data transforms (builders return a config-serializable callable)."),
        Kind("optimizer", "optimizers", "Register optimizers (builders return ``f(model) -> torch.optim.Optimizer``)."),
        Kind("scheduler", "schedulers", "Register LR schedulers (builders return ``f(optimizer, total_steps)``)."),
        Kind(
            "trainer",
            "trainers",
            "Register trainers (builders are ``f(config, *, callbacks=(), run_dir=None) -> Trainer``;"
            " the default one is ``core.default``).",
        ),
        Kind("callback", "callbacks", "Register trainer callbacks."),
        Kind("exporter", "exporters", "Register model exporters (ONNX, torch.export, ...)."),
        Kind("tracker", "trackers", "Register experiment trackers."),
        Kind("recipe", "recipes", 'Register recipe files; ``builder`` is ``"package:file.toml"``.'),
    )
}
"""Every component kind by name, declared once: the registry's kinds, the hook specifications below
and core's own plugin are all derived from this table."""


def _kind_hookspec(kind: Kind) -> Callable[[Register], None]:
    def spec(register: Register) -> None:
        pass

    spec.__name__ = spec.__qualname__ = kind.hook
    spec.__doc__ = kind.doc
    return hookspec(spec)


# one hook specification per kind: ``forge_register_models(register: Register) -> None`` and so on
globals().update({kind.hook: _kind_hookspec(kind) for kind in KINDS.values()})


@hookspec
def forge_register_commands(register: CommandRegister) -> None:
    """Add click commands to the ``forge`` command line (``forge serve`` comes this way)."""
