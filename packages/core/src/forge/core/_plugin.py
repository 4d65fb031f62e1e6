"""forge-core's own plugin: core registers its built-in components through the same hooks as any
other plugin. Each area keeps its registrations in a light ``catalog`` module beside its code, and
each hook imports that catalog only when called, so loading this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from forge.core._plugins import import_object
from forge.core.hookspecs import KINDS, Register, hookimpl

FORGE_PLUGIN_API = 1

_CATALOGS = {
    "model": "forge.core.models._catalog:register_models",
    "recipe": "forge.core.models._catalog:register_recipes",
    "dataset": "forge.core.data._catalog:register_datasets",
    "transform": "forge.core.data._catalog:register_transforms",
    "loss": "forge.core.losses._catalog:register_losses",
    "metric": "forge.core.metrics._catalog:register_metrics",
    "optimizer": "forge.core.optim._catalog:register_optimizers",
    "scheduler": "forge.core.optim._catalog:register_schedulers",
    "trainer": "forge.core.trainer._catalog:register_trainers",
    "callback": "forge.core.trainer._catalog:register_callbacks",
}
"""Component kind -> ``"module:function"`` of the catalog function that registers core's components."""


def _hookimpl(kind: str, catalog: str) -> Callable[[Register], None]:
    def impl(register: Register) -> None:
        import_object(catalog, what=f"core's {kind} catalog")(register)

    impl.__name__ = impl.__qualname__ = KINDS[kind].hook
    return hookimpl(impl)


# one hook implementation per catalog: ``forge_register_models(register)`` and so on
globals().update({KINDS[kind].hook: _hookimpl(kind, catalog) for kind, catalog in _CATALOGS.items()})
