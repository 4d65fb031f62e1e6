"""DDPM and DDIM samplers over a :class:`~forge.diffusion.schedules.NoiseSchedule` (imports torch)."""

from __future__ import annotations

from forge.diffusion.samplers.configs import (
    PREDICTION_TYPES,
    TIMESTEP_SPACINGS,
    VARIANCE_TYPES,
    DDIMConfig,
    DDPMConfig,
)
from forge.diffusion.samplers.ddim import DDIMSampler
from forge.diffusion.samplers.ddpm import DDPMSampler, StepOutput, draw_noise
from forge.diffusion.samplers.timesteps import spaced_timesteps, to_x0_and_eps

__all__ = [
    "PREDICTION_TYPES",
    "TIMESTEP_SPACINGS",
    "VARIANCE_TYPES",
    "DDIMConfig",
    "DDIMSampler",
    "DDPMConfig",
    "DDPMSampler",
    "StepOutput",
    "draw_noise",
    "spaced_timesteps",
    "to_x0_and_eps",
]
