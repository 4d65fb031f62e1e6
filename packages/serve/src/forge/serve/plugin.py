"""forge-serve's entry-point module (``forge.plugins``: ``serve = "forge.serve.plugin"``).

Light on purpose: it imports only core's registration API and names builders and config classes
as ``"module:attr"`` strings, so ``forge plugins`` and ``forge list`` never import torch.
"""

from __future__ import annotations

from forge.core.hookspecs import CommandRegister, Register, hookimpl

__all__ = ["FORGE_PLUGIN_API", "forge_register_commands", "forge_register_transforms"]

FORGE_PLUGIN_API = 1


@hookimpl
def forge_register_transforms(register: Register) -> None:
    """Register the JSON tensor payload codec."""
    register(
        "json_tensor",
        builder="forge.serve.payloads.tensor:JsonTensorCodec",
        config="forge.serve.payloads.configs:JsonTensorConfig",
        summary="Decode and validate a JSON tensor payload (nested lists or base64) and encode responses",
        tags=("serving", "payload"),
    )


@hookimpl
def forge_register_commands(register: CommandRegister) -> None:
    """Register ``forge serve``."""
    from forge.serve.command import serve_command

    register(serve_command)
