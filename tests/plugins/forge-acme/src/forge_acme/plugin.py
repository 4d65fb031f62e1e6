"""Entry point of the acme plugin: registration only, so listing never imports torch."""

from __future__ import annotations

from forge.core.hookspecs import CommandRegister, Register, hookimpl

FORGE_PLUGIN_API = 1


@hookimpl
def forge_register_models(register: Register) -> None:
    register(
        "gated_mlp",
        builder="forge_acme.models:build_gated_mlp",
        config="forge_acme.configs:GatedMLPConfig",
        defaults={"hidden": [32, 32]},
        summary="MLP with a sigmoid gate on every hidden layer",
        tags=("tabular", "classification"),
        example="forge_acme.models:example_input",
    )


@hookimpl
def forge_register_losses(register: Register) -> None:
    register(
        "huber",
        builder="forge_acme.losses:build_huber",
        config="forge_acme.configs:HuberConfig",
        summary="Huber loss (quadratic near zero, linear beyond delta)",
        tags=("regression",),
    )


@hookimpl
def forge_register_commands(register: CommandRegister) -> None:
    # click and the command code are imported only when forge collects plugin commands
    from forge_acme.commands import report

    register(report)
