"""forge-core's own plugin: core registers its built-in components through the same hooks as any
other plugin. Each area keeps its registrations in a light ``catalog`` module beside its code, and
each hook imports that catalog only when called, so loading this module costs nothing.
"""

from __future__ import annotations

from forge.core.hookspecs import Register, hookimpl

FORGE_PLUGIN_API = 1


@hookimpl
def forge_register_models(register: Register) -> None:
    from forge.core.models.catalog import register_models

    register_models(register)


@hookimpl
def forge_register_recipes(register: Register) -> None:
    from forge.core.models.catalog import register_recipes

    register_recipes(register)


@hookimpl
def forge_register_datasets(register: Register) -> None:
    from forge.core.data.catalog import register_datasets

    register_datasets(register)


@hookimpl
def forge_register_transforms(register: Register) -> None:
    from forge.core.data.catalog import register_transforms

    register_transforms(register)


@hookimpl
def forge_register_losses(register: Register) -> None:
    from forge.core.losses.catalog import register_losses

    register_losses(register)


@hookimpl
def forge_register_metrics(register: Register) -> None:
    from forge.core.metrics.catalog import register_metrics

    register_metrics(register)


@hookimpl
def forge_register_optimizers(register: Register) -> None:
    from forge.core.optim.catalog import register_optimizers

    register_optimizers(register)


@hookimpl
def forge_register_schedulers(register: Register) -> None:
    from forge.core.optim.catalog import register_schedulers

    register_schedulers(register)


@hookimpl
def forge_register_trainers(register: Register) -> None:
    from forge.core.trainer.catalog import register_trainers

    register_trainers(register)


@hookimpl
def forge_register_callbacks(register: Register) -> None:
    from forge.core.trainer.catalog import register_callbacks

    register_callbacks(register)
