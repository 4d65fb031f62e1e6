"""forge-diffusion's entry-point module (``forge.plugins``: ``diffusion = "forge.diffusion.plugin"``).

Light on purpose: it imports only core's registration API and names builders and config classes
as ``"module:attr"`` strings, so ``forge plugins`` and ``forge list`` never import torch.
"""

from __future__ import annotations

from forge.core.hookspecs import Register, hookimpl

__all__ = ["FORGE_PLUGIN_API", "forge_register_transforms"]

FORGE_PLUGIN_API = 1


@hookimpl
def forge_register_transforms(register: Register) -> None:
    """Register the noise schedule (a transform: clean sample in, noised training pair out)."""
    register(
        "noise_schedule",
        builder="forge.diffusion.schedules.noise:NoiseSchedule",
        config="forge.diffusion.schedules.configs:NoiseScheduleConfig",
        summary="DDPM noise schedule (linear, cosine, scaled-linear) with q(x_t | x_0) and its closed forms",
        tags=("diffusion", "noise-schedule"),
    )
