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
``register`` without breaking any plugin.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    import click

__all__ = [
    "PROJECT",
    "CommandRegister",
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


@hookspec
def forge_register_models(register: Register) -> None:
    """Register model architectures (builders return a ``torch.nn.Module``)."""


@hookspec
def forge_register_losses(register: Register) -> None:
    """Register loss functions (builders return a ``torch.nn.Module``)."""


@hookspec
def forge_register_metrics(register: Register) -> None:
    """Register metrics (builders return a ``torchmetrics.Metric``)."""


@hookspec
def forge_register_datasets(register: Register) -> None:
    """Register datasets (builders return a :class:`forge.core.data.DatasetSplits`)."""


@hookspec
def forge_register_transforms(register: Register) -> None:
    """Register data transforms (builders return a callable that serializes to config)."""


@hookspec
def forge_register_optimizers(register: Register) -> None:
    """Register optimizers (builders return a factory ``f(model) -> torch.optim.Optimizer``)."""


@hookspec
def forge_register_schedulers(register: Register) -> None:
    """Register learning-rate schedulers (builders return ``f(optimizer, total_steps)``)."""


@hookspec
def forge_register_trainers(register: Register) -> None:
    """Register trainers (the default one is ``core.default``)."""


@hookspec
def forge_register_callbacks(register: Register) -> None:
    """Register trainer callbacks."""


@hookspec
def forge_register_exporters(register: Register) -> None:
    """Register model exporters (ONNX, torch.export, ...)."""


@hookspec
def forge_register_trackers(register: Register) -> None:
    """Register experiment trackers."""


@hookspec
def forge_register_recipes(register: Register) -> None:
    """Register recipe files; ``builder`` is ``"package:file.toml"``."""


@hookspec
def forge_register_commands(register: CommandRegister) -> None:
    """Add click commands to the ``forge`` command line (``forge serve`` comes this way)."""
