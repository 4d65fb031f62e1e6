"""forge-core's own plugin: core registers its built-in components through the same hooks as any
other plugin. Each area keeps its registrations in a light ``catalog`` module beside its code.
"""

from __future__ import annotations

from forge.core.hookspecs import Register, hookimpl

FORGE_PLUGIN_API = 1


@hookimpl
def forge_register_models(register: Register) -> None:
    from forge.core.models.catalog import register_models

    register_models(register)
