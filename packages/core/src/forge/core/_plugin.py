"""forge-core's own plugin: core registers its built-in components through the same hooks as any
other plugin. Each area keeps its registrations in a light ``catalog`` module beside its code, and
each hook imports that catalog only when called, so loading this module costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from forge.core._plugins import import_object
from forge.core.hookspecs import KINDS, Register, hookimpl

FORGE_PLUGIN_API = 1

_CATALOGS: dict[str, tuple[str, ...]] = {
    "model": ("forge.core.models._catalog:register_models", "forge.core.compress._catalog:register_models"),
    "recipe": ("forge.core.models._catalog:register_recipes",),
    "dataset": ("forge.core.data._catalog:register_datasets",),
    "transform": ("forge.core.data._catalog:register_transforms",),
    "loss": ("forge.core.losses._catalog:register_losses", "forge.core.compress._catalog:register_losses"),
    "metric": ("forge.core.metrics._catalog:register_metrics",),
    "optimizer": ("forge.core.optim._catalog:register_optimizers",),
    "scheduler": ("forge.core.optim._catalog:register_schedulers",),
    "trainer": ("forge.core.trainer._catalog:register_trainers",),
    "callback": (
        "forge.core.trainer._catalog:register_callbacks",
        "forge.core.compress._catalog:register_callbacks",
        "forge.core.sweep._catalog:register_callbacks",
        "forge.core.tracking._catalog:register_callbacks",
    ),
    "exporter": ("forge.core.export._catalog:register_exporters",),
    "tracker": ("forge.core.tracking._catalog:register_trackers",),
}
"""Component kind -> the ``"module:function"`` catalog functions that register core's components."""


def _hookimpl(kind: str, catalogs: tuple[str, ...]) -> Callable[[Register], None]:
    def impl(register: Register) -> None:
        for catalog in catalogs:
            import_object(catalog, what=f"core's {kind} catalog")(register)

    impl.__name__ = impl.__qualname__ = KINDS[kind].hook
    return hookimpl(impl)


# one hook implementation per catalog: ``forge_register_models(register)`` and so on
globals().update({KINDS[kind].hook: _hookimpl(kind, catalogs) for kind, catalogs in _CATALOGS.items()})
